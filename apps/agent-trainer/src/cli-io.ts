import type { ProgressOutput } from './progress';

/** The process streams a command uses; tests pass their own. */
export interface CliIo {
  stdout: ProgressOutput;
  stderr: ProgressOutput;
  /** Lines typed by the user (chat). */
  stdin: NodeJS.ReadableStream;
  /** Called with a handler for SIGINT; returns a function that removes it. */
  onInterrupt(handler: () => void): () => void;
}

/** The real process streams and signal. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}
