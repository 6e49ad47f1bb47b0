import type { CommonFlags } from '../command-line';
import { UsageError } from '../exit-codes';

/** `console [RUN_DIR...]`: the training console in a browser. */
export interface ConsoleCommand extends CommonFlags {
  command: 'console';
  /** Run directories or folders of runs (default `runs`). */
  runDirectories: string[];
  host: string;
  port: number;
  token?: string;
}

/** The console's default port: fixed, so a bookmark keeps working between runs. */
export const defaultConsolePort = 7707;

export const consoleFlags = {
  host: { type: 'string' },
  port: { type: 'string' },
  token: { type: 'string' },
} as const;

export const consoleHelp = `agent-trainer console [RUN_DIR...] [--host HOST] [--port N] [--token TOKEN]
  Open the training console in a browser: live metrics of one or more runs
  (a run directory or a folder of runs, default runs/), trajectories, and
  the feedback page. Loopback only unless --host; then a token is required
  (generated unless --token). Default port ${defaultConsolePort} (0: any free port).`;

/** Parses a port flag: an integer in [0, 65535]. */
export function portFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65_535) {
    throw new UsageError(
      `--${name} must be an integer in [0, 65535], got ${JSON.stringify(value)}`,
    );
  }
  return port;
}

/** The `console` command from parsed flags and positionals. */
export function parseConsoleCommand(
  values: Record<string, string | boolean | undefined>,
  positionals: string[],
  flags: CommonFlags,
): ConsoleCommand {
  const token = values.token as string | undefined;
  if (token !== undefined && token.length < 16) {
    throw new UsageError(`--token must be at least 16 characters, got ${token.length}`);
  }
  return {
    command: 'console',
    ...flags,
    runDirectories: positionals.length > 0 ? positionals : ['runs'],
    host: (values.host as string | undefined) ?? '127.0.0.1',
    port: portFlag('port', values.port as string | undefined) ?? defaultConsolePort,
    ...(token !== undefined ? { token } : {}),
  };
}
