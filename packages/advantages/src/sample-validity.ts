import { assertOneOf, InvalidArgumentError } from '@cohort/core';
import { assertGroupedRewards } from './numerics';

/** What an estimator does with a NaN reward (a reward function that could not score a sample). */
export type NanRewards = 'throw' | 'ignore';

/** The per-sample validity options shared by the group estimators. */
export interface SampleValidityOptions {
  /**
   * Optional 0/1 per sample: 0 leaves the sample out of its group's (and the
   * batch's) statistics and gives it advantage 0 (NeMo-RL's `valid_mask`).
   */
  validMask?: readonly number[];
  /**
   * `'throw'` (default): a NaN reward throws `NonFiniteError`. `'ignore'`: a
   * NaN reward marks its sample invalid, so means and standard deviations
   * ignore it (TRL's `nanmean`/`nanstd` for unscorable completions) and its
   * advantage is 0. Infinite rewards always throw.
   */
  nanRewards?: NanRewards;
}

/**
 * Validates grouped rewards with their validity options and returns the
 * rewards with NaN replaced by 0 (safe to scale and sum) and one flag per
 * sample.
 */
export function validatedSamples(
  rewards: readonly number[],
  groupSize: number,
  options: SampleValidityOptions,
): { cleanRewards: number[]; valid: boolean[] } {
  const { validMask, nanRewards = 'throw' } = options;
  assertOneOf('nanRewards', nanRewards, ['throw', 'ignore'] as const);
  const isMissing = (value: unknown) => nanRewards === 'ignore' && Number.isNaN(value);
  const cleanRewards = Array.isArray(rewards)
    ? rewards.map((reward) => (isMissing(reward) ? 0 : reward))
    : rewards;
  assertGroupedRewards(cleanRewards, groupSize);
  if (validMask !== undefined) {
    if (!Array.isArray(validMask) || validMask.length !== rewards.length) {
      throw new InvalidArgumentError({
        argument: 'validMask',
        value: Array.isArray(validMask) ? `length ${validMask.length}` : validMask,
        message: `must be an array of 0 and 1, one per reward (rewards.length = ${rewards.length})`,
      });
    }
    validMask.forEach((flag, index) => {
      if (flag !== 0 && flag !== 1) {
        throw new InvalidArgumentError({
          argument: `validMask[${index}]`,
          value: flag,
          message: 'must be 0 or 1',
        });
      }
    });
  }
  const valid = rewards.map(
    (reward, index) => !isMissing(reward) && (validMask === undefined || validMask[index] === 1),
  );
  return { cleanRewards, valid };
}
