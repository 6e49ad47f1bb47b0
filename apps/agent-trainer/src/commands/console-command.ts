import { type ConsoleServer, createConsoleServer } from '@cohort/console';
import type { CliIo } from '../cli-io';
import { createConsoleChat } from '../console-chat';
import { type ExitCode, exitCodes, UsageError } from '../exit-codes';
import type { ConsoleCommand } from './console-command-line';

/**
 * The console's built front-end: the package's `dist/web`, built there first
 * when the package runs from its sources (a checkout, no build yet).
 */
export async function consoleWebDirectory(io: CliIo): Promise<string> {
  let ensureBuiltWeb: typeof import('@cohort/console/build-web').ensureBuiltWeb;
  try {
    ({ ensureBuiltWeb } = await import('@cohort/console/build-web'));
  } catch (error) {
    throw new UsageError(`the console's front-end cannot be loaded: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return ensureBuiltWeb({
    onBuild: (directory) =>
      io.stderr.write(
        `building the console's front-end into ${directory} (first use from sources)\n`,
      ),
  });
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
  const chat = createConsoleChat({ maxNewTokens: 64 });
  const server = await startConsole(
    {
      chat,
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
  chat.dispose();
  return exitCodes.ok;
}
