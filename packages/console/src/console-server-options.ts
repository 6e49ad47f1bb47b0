import { z } from 'zod';

/** Options of {@link createConsoleServer}, with defaults. */
export const ConsoleServerOptionsSchema = z
  .object({
    /** Run directories, or directories of run directories (such as `runs/`), to serve. */
    runDirectories: z.array(z.string().min(1)).min(1),
    /**
     * Interface to listen on. Loopback by default: a run's texts and the
     * feedback form are for the person at this machine. Any other address
     * requires the token.
     */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port; 0 lets the system pick a free one (read it from `url`). */
    port: z.number().int().min(0).max(65535).default(0),
    /**
     * Secret that every request must carry (`?token=` or `Authorization:
     * Bearer`). Generated when the host is not loopback and none is given;
     * optional on loopback.
     */
    token: z.string().min(16).max(256).optional(),
    /** How often a followed run's files are checked for new lines (the live latency). */
    pollMs: z.number().int().min(10).max(10_000).default(250),
    /** Comment lines sent on idle event streams so proxies keep them open. */
    heartbeatMs: z.number().int().min(100).default(15_000),
    /** Folder of the built front-end (default: the package's `dist/web`). */
    webDirectory: z.string().min(1).optional(),
    /** Accept a directory with no run files yet (a run about to start, as with `train --console`). */
    allowEmptyRuns: z.boolean().default(false),
  })
  .strict();

export type ConsoleServerSettings = z.output<typeof ConsoleServerOptionsSchema>;
export type ConsoleServerSettingsInput = z.input<typeof ConsoleServerOptionsSchema>;
