import {
  assertFiniteResult,
  assertGroupedRewards,
  assertNonNegative,
  groupsOf,
  meanOf,
  powerOfTwoScale,
  spreadOf,
} from './numerics';
import { zeroSpreadFractionOfValid } from './zero-spread';

/** Options of {@link rlooAdvantages}. */
export interface RlooAdvantagesOptions {
  /** One reward per sample; groups are contiguous runs of `groupSize`. */
  rewards: readonly number[];
  /** Samples per prompt; `rewards.length` must be a multiple of it. */
  groupSize: number;
  /** Absolute tolerance for the reported zero-spread fraction. Default 0. */
  zeroSpreadTolerance?: number;
}

/** Result of {@link rlooAdvantages}. */
export interface RlooAdvantagesResult {
  /** One advantage per sample, in input order. */
  advantages: number[];
  /** Fraction of groups whose rewards have zero spread; 0 for an empty batch. */
  zeroSpreadGroupFraction: number;
}

/**
 * REINFORCE leave-one-out advantages (Kool et al. 2019, "Buy 4 REINFORCE
 * Samples, Get a Baseline for Free!"; Ahmadian et al. 2024, "Back to Basics",
 * eq. 6): each reward minus the mean of the other samples of its group,
 *
 * `A_i = r_i - (1 / (n - 1)) * sum_{j != i} r_j = n / (n - 1) * (r_i - mean_g)`.
 *
 * The second form is what is computed: it avoids subtracting two large sums.
 * Advantages of a group sum to zero. Conventions: a group of one has no other
 * sample to form a baseline, so it gets 0 (TRL and OpenRLHF require groups of at
 * least two); equal rewards give exactly 0; an empty batch gives empty arrays.
 *
 * @throws NonFiniteError naming `rewards[i]` when a reward is NaN or infinite.
 * @throws InvalidArgumentError when `rewards.length` is not a multiple of `groupSize`.
 *
 * @example
 * ```ts
 * rlooAdvantages({ rewards: [1, 0, 0, 0], groupSize: 4 }).advantages;
 * // [1, -1/3, -1/3, -1/3]
 * ```
 */
export function rlooAdvantages(options: RlooAdvantagesOptions): RlooAdvantagesResult {
  const { rewards, groupSize, zeroSpreadTolerance = 0 } = options;
  assertGroupedRewards(rewards, groupSize);
  assertNonNegative('zeroSpreadTolerance', zeroSpreadTolerance);
  const advantages: number[] = [];
  for (const group of groupsOf(rewards, groupSize)) {
    if (group.length < 2 || spreadOf(group) === 0) {
      for (let index = 0; index < group.length; index++) advantages.push(0);
      continue;
    }
    const factor = powerOfTwoScale(group);
    const scaled = group.map((reward) => reward * factor);
    const center = meanOf(scaled);
    const correction = group.length / (group.length - 1);
    for (const value of scaled) advantages.push(((value - center) * correction) / factor);
  }
  assertFiniteResult('advantages', advantages);
  return {
    advantages,
    zeroSpreadGroupFraction: zeroSpreadFractionOfValid(rewards, groupSize, zeroSpreadTolerance),
  };
}
