import { CohortError } from '@cohort/core';

const marker = 'cohort.error.data-parallel-worker';
const symbol = Symbol.for(marker);

/**
 * A worker of a {@link DataParallelLearner} threw or died. The step that asked
 * for gradients fails with this error and the leader's weights and optimizer
 * are untouched; a dead worker is started again on the next call.
 *
 * @example
 * ```ts
 * try { await learner.computeGradients(batch); } catch (error) { if (DataParallelWorkerError.isInstance(error)) console.error(error.workerIndex); }
 * ```
 */
export class DataParallelWorkerError extends CohortError {
  protected readonly [symbol] = true;
  /** Which worker failed, 0-based. */
  readonly workerIndex: number;

  constructor({
    workerIndex,
    message,
    cause,
  }: { workerIndex: number; message: string; cause?: unknown }) {
    super({
      name: 'DataParallelWorkerError',
      message: `Data-parallel worker ${workerIndex} failed: ${message}`,
      cause,
    });
    this.workerIndex = workerIndex;
  }

  static override isInstance(error: unknown): error is DataParallelWorkerError {
    return CohortError.hasMarker(error, marker);
  }
}
