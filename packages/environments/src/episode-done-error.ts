import { CohortError } from '@cohort/core';

const marker = 'cohort.error.episode-done';
const symbol = Symbol.for(marker);

/**
 * `step` was called on an episode that is already over. Carries the reason it
 * ended, so the caller can see which check it missed.
 *
 * @example
 * ```ts
 * try { await episode.step('hello'); } catch (error) { if (EpisodeDoneError.isInstance(error)) ... }
 * ```
 */
export class EpisodeDoneError extends CohortError {
  protected readonly [symbol] = true;
  readonly endReason: string | undefined;

  constructor({ environment, endReason }: { environment: string; endReason?: string }) {
    super({
      name: 'EpisodeDoneError',
      message: `step() called on a finished ${environment} episode (it ended with ${
        endReason ?? 'an unknown reason'
      }); call reset() to start a new one`,
    });
    this.endReason = endReason;
  }

  static override isInstance(error: unknown): error is EpisodeDoneError {
    return CohortError.hasMarker(error, marker);
  }
}
