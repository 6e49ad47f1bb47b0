import { CohortError } from '@cohort/core';

const marker = 'cohort.error.model-files';
const symbol = Symbol.for(marker);

/**
 * A transformers.js model could not be loaded: its folder or one of its files
 * is missing (or remote loading is off for a hub id). The message names the
 * folder that was searched and the files that were expected there.
 *
 * @example
 * ```ts
 * try { await loadCausalLm({ model: 'models/tiny' }); }
 * catch (error) { if (ModelFilesError.isInstance(error)) console.error(error.directory); }
 * ```
 */
export class ModelFilesError extends CohortError {
  protected readonly [symbol] = true;
  /** The folder that was searched. */
  readonly directory: string;

  constructor({
    directory,
    message,
    cause,
  }: { directory: string; message: string; cause?: unknown }) {
    super({ name: 'ModelFilesError', message: `Model folder ${directory}: ${message}`, cause });
    this.directory = directory;
  }

  static override isInstance(error: unknown): error is ModelFilesError {
    return CohortError.hasMarker(error, marker);
  }
}
