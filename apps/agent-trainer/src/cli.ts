import { type CliIo, processIo } from './cli-io';
import { type Command, helpText, parseCommandLine } from './command-line';
import { type ExitCode, exitCodeFor, exitCodes, formatError } from './exit-codes';

/**
 * Runs one `agent-trainer` command and returns its exit code; never throws
 * and never calls `process.exit`. Errors print one clear line on stderr (the
 * stack trace only with `--verbose`). Commands load their heavy dependencies
 * (TensorFlow.js) on demand, so `--help` and `report` start fast.
 *
 * @example
 * ```ts
 * const code = await runCli(['report', 'runs/20250101-120000-support']);
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<ExitCode> {
  let command: Command | undefined;
  try {
    command = parseCommandLine(argv);
    switch (command.command) {
      case 'help':
        io.stdout.write(helpText(command.topic));
        return exitCodes.ok;
      case 'report': {
        const { reportCommand } = await import('./commands/report-command');
        return await reportCommand(command, io);
      }
      case 'train': {
        const { trainCommand } = await import('./commands/train-command');
        return await trainCommand(command, io);
      }
      case 'gateway': {
        const { gatewayCommand } = await import('./commands/gateway-command');
        return await gatewayCommand(command, io);
      }
      case 'eval': {
        const { evalCommand } = await import('./commands/eval-command');
        return await evalCommand(command, io);
      }
      case 'chat': {
        const { chatCommand } = await import('./commands/chat-command');
        return await chatCommand(command, io);
      }
      case 'export': {
        const { exportCommand } = await import('./commands/export-command');
        return await exportCommand(command, io);
      }
      case 'console': {
        const { consoleCommand } = await import('./commands/console-command');
        return await consoleCommand(command, io);
      }
      case 'worker': {
        const { workerCommand } = await import('./commands/worker-command');
        return await workerCommand(command, io);
      }
      case 'sft': {
        const { sftCommand } = await import('./commands/sft-command');
        return await sftCommand(command, io);
      }
    }
  } catch (error) {
    const verbose = command?.verbose ?? argv.includes('--verbose');
    io.stderr.write(`${formatError(error, { verbose })}\n`);
    return exitCodeFor(error);
  }
}
