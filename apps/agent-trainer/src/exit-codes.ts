import { CheckpointError, CohortError, InvalidArgumentError, ValidationError } from '@cohort/core';

/**
 * Exit codes of the `agent-trainer` command, documented in the README.
 *
 * - `ok` (0): the command finished.
 * - `failure` (1): a runtime failure (a corrupt checkpoint, a model that
 *   cannot be read, a non-finite loss that ends a run).
 * - `usage` (2): bad command line or bad config, refused before any work.
 * - `interrupted` (130): Ctrl-C (SIGINT); what was written is complete
 *   (128 + signal number 2, the shell convention).
 */
export const exitCodes = {
  ok: 0,
  failure: 1,
  usage: 2,
  interrupted: 130,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

const usageMarker = 'cohort.error.agent-trainer.usage';
const usageSymbol = Symbol.for(usageMarker);

/**
 * A problem with what the user asked for: an unknown flag, a missing
 * argument, a config file that cannot be read, a module that does not export
 * an environment. Exits with code 2.
 *
 * @example
 * ```ts
 * throw new UsageError('missing --run-dir DIR');
 * ```
 */
export class UsageError extends CohortError {
  protected readonly [usageSymbol] = true;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super({ name: 'UsageError', message, cause: options.cause });
  }

  static override isInstance(error: unknown): error is UsageError {
    return CohortError.hasMarker(error, usageMarker);
  }
}

const interruptedMarker = 'cohort.error.agent-trainer.interrupted';
const interruptedSymbol = Symbol.for(interruptedMarker);

/** The run stopped on SIGINT after saving its state. Exits with code 130. */
export class InterruptedError extends CohortError {
  protected readonly [interruptedSymbol] = true;

  constructor(message = 'interrupted') {
    super({ name: 'InterruptedError', message });
  }

  static override isInstance(error: unknown): error is InterruptedError {
    return CohortError.hasMarker(error, interruptedMarker);
  }
}

/**
 * The exit code for an error: usage and validation problems give 2, an
 * interruption 130, everything else 1.
 *
 * @example
 * ```ts
 * exitCodeFor(new UsageError('missing --run-dir')); // 2
 * ```
 */
export function exitCodeFor(error: unknown): ExitCode {
  if (InterruptedError.isInstance(error)) return exitCodes.interrupted;
  if (
    UsageError.isInstance(error) ||
    ValidationError.isInstance(error) ||
    InvalidArgumentError.isInstance(error)
  ) {
    return exitCodes.usage;
  }
  return exitCodes.failure;
}

/**
 * The message printed for an error: one line per problem, prefixed
 * `agent-trainer: `. A {@link ValidationError} lists each issue on its own
 * line; a {@link CheckpointError} or any other error gives its message's first
 * line. Stack traces are printed only with `--verbose`.
 *
 * @example
 * ```ts
 * formatError(new UsageError('no such file: a.yaml'), { verbose: false }); // 'agent-trainer: no such file: a.yaml'
 * ```
 */
export function formatError(error: unknown, options: { verbose: boolean }): string {
  const prefix = 'agent-trainer: ';
  let text: string;
  if (ValidationError.isInstance(error)) {
    const issues = error.issues.map((issue) => `  ${issue.path || '(root)'}: ${issue.message}`);
    text = `${prefix}invalid ${error.what}:\n${issues.join('\n')}`;
  } else if (CheckpointError.isInstance(error) || CohortError.isInstance(error)) {
    text = `${prefix}${firstLine(error.message)}`;
  } else if (error instanceof Error) {
    text = `${prefix}${firstLine(error.message) || error.name}`;
  } else {
    text = `${prefix}${String(error)}`;
  }
  if (options.verbose && error instanceof Error && error.stack) {
    text += `\n${error.stack}`;
    if (error.cause instanceof Error && error.cause.stack)
      text += `\ncaused by: ${error.cause.stack}`;
  }
  return text;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
