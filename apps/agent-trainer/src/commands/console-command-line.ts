import { type CommandRecord, defineCommand } from '../cli-command';
import { integerFlag, stringFlag } from '../cli-flag';

/** The console's default port: fixed, so a bookmark keeps working between runs. */
export const defaultConsolePort = 7707;

/** `console [RUN_DIR...]`: the training console in a browser. */
export const consoleCommandLine = defineCommand({
  name: 'console',
  summary:
    'The training console in a browser (live metrics, trajectories, feedback); see `@cohort/console`.',
  description: `Open the training console in a browser: live metrics of one or more runs (a run directory or a folder of runs, default runs/), trajectories, and the feedback page. Loopback only unless --host; then a token is required (generated unless --token). Default port ${defaultConsolePort} (0: any free port).`,
  positionals: {
    usage: '[RUN_DIR...]',
    description: 'run directories or folders of runs (default `runs`)',
  },
  flags: {
    host: stringFlag({
      placeholder: 'HOST',
      default: '127.0.0.1',
      description: 'address to listen on; anything but loopback requires a token',
    }),
    port: integerFlag({
      minimum: 0,
      maximum: 65_535,
      default: defaultConsolePort,
      description: 'port to listen on, 0 for any free port',
    }),
    token: stringFlag({
      placeholder: 'TOKEN',
      description: 'access token of at least 16 characters (generated when --host is not loopback)',
      problem: (token) =>
        token.length < 16 ? `must be at least 16 characters, got ${token.length}` : undefined,
    }),
  },
  build: (values, positionals) => ({
    command: 'console' as const,
    runDirectories: positionals.length > 0 ? positionals : ['runs'],
    host: values.host,
    port: values.port,
    token: values.token,
  }),
});

/** `console [RUN_DIR...]`: the training console in a browser. */
export type ConsoleCommand = CommandRecord<typeof consoleCommandLine>;
