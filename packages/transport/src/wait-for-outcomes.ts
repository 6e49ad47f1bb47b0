import type { CollectAccumulator } from './collect-accumulator';

/**
 * Resolves when the accumulator has an outcome for every task, the timeout
 * runs out, or the signal aborts. `subscribe` registers a callback that the
 * transport calls after it fed the accumulator, and returns its unsubscribe.
 */
export function waitForOutcomes(options: {
  accumulator: CollectAccumulator;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  subscribe: (wake: () => void) => () => void;
}): Promise<void> {
  const { accumulator, timeoutMs, signal, subscribe } = options;
  if (accumulator.done || signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setTimeout(finish, timeoutMs);
    const unsubscribe = subscribe(() => {
      if (accumulator.done) finish();
    });
    signal?.addEventListener('abort', finish, { once: true });
  });
}
