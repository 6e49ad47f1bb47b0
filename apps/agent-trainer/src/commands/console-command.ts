import { existsSync } from 'node:fs';
import path from 'node:path';
import { type ConsoleServer, createConsoleServer, defaultWebDirectory } from '@cohort/console';
import type { CliIo } from '../cli-io';
import { type ExitCode, exitCodes, UsageError } from '../exit-codes';
import type { ConsoleCommand } from './console-command-line';

/**
 * The console's built front-end: the package's `dist/web`; when the package
 * runs from its sources (a checkout, no build yet), it is built there first,
 * and the build says so.
 */
export async function consoleWebDirectory(io: CliIo): Promise<string> {
  const directory = defaultWebDirectory();
  if (existsSync(path.join(directory, 'index.html'))) return directory;
  let buildWeb: (options: { outDirectory: string }) => Promise<void>;
  try {
    ({ buildWeb } = await import('@cohort/console/build-web'));
  } catch (error) {
    throw new UsageError(
      `the console's front-end is missing (${directory}) and cannot be built here: ${(error as Error).message}`,
      { cause: error },
    );
  }
  io.stderr.write(`building the console's front-end into ${directory} (first use from sources)\n`);
  await buildWeb({ outDirectory: directory });
  return directory;
}

/** Starts a console server for the command's options, with errors as usage errors. */
export async function startConsole(
  options: Parameters<typeof createConsoleServer>[0],
  io: CliIo,
): Promise<ConsoleServer> {
  const webDirectory = await consoleWebDirectory(io);
  try {
    return await createConsoleServer({ webDirectory, ...options });
  } catch (error) {
    throw new UsageError(`console: ${(error as Error).message}`, { cause: error });
  }
}

/** `agent-trainer console [RUN_DIR...]`: serves the console until Ctrl-C. */
export async function consoleCommand(command: ConsoleCommand, io: CliIo): Promise<ExitCode> {
  const server = await startConsole(
    {
      runDirectories: command.runDirectories,
      host: command.host,
      port: command.port,
      ...(command.token ? { token: command.token } : {}),
    },
    io,
  );
  if (command.json) {
    io.stdout.write(
      `${JSON.stringify({ type: 'console', url: server.url, runs: server.runs.map((run) => run.id) })}\n`,
    );
  } else {
    io.stderr.write(
      `console: ${server.runs.length} run(s): ${server.runs.map((run) => run.id).join(', ')}\nopen ${server.url}\n(Ctrl-C to stop)\n`,
    );
  }
  await new Promise<void>((resolve) => {
    const remove = io.onInterrupt(() => {
      remove();
      resolve();
    });
  });
  await server.close();
  return exitCodes.ok;
}
