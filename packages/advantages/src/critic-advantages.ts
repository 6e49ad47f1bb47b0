import { InvalidArgumentError } from '@cohort/core';
import { assertFiniteResult, assertNumberArray } from './numerics';

/** Options of {@link criticAdvantages}. */
export interface CriticAdvantagesOptions {
  /** One reward (or return) per sample. */
  rewards: readonly number[];
  /** The critic's prediction V(s) per sample, same length as `rewards`. */
  values: readonly number[];
}

/**
 * Critic-baseline advantages for one-step (bandit) episodes: `A_i = r_i - V(s_i)`
 * (Williams 1992's REINFORCE with a learned baseline; Sutton and Barto 2018,
 * sec. 13.4). For multi-step episodes use GAE from `@cohort/value`. An empty
 * batch gives an empty array.
 *
 * @throws NonFiniteError naming `rewards[i]` or `values[i]` when one is NaN or infinite.
 * @throws InvalidArgumentError when the lengths differ.
 *
 * @example
 * ```ts
 * criticAdvantages({ rewards: [1, 0], values: [0.25, 0.5] }).advantages; // [0.75, -0.5]
 * ```
 */
export function criticAdvantages(options: CriticAdvantagesOptions): { advantages: number[] } {
  const { rewards, values } = options;
  assertNumberArray('rewards', rewards);
  assertNumberArray('values', values);
  if (values.length !== rewards.length) {
    throw new InvalidArgumentError({
      argument: 'values.length',
      value: values.length,
      message: `must equal rewards.length = ${rewards.length}`,
    });
  }
  const advantages = rewards.map((reward, index) => reward - values[index]!);
  assertFiniteResult('advantages', advantages);
  return { advantages };
}
