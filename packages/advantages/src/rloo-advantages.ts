import { assertOneOf, InvalidArgumentError } from '@cohort/core';
import {
  assertFiniteResult,
  assertNonNegative,
  groupsOf,
  meanOf,
  powerOfTwoScale,
  sampleStandardDeviationOf,
  spreadOf,
} from './numerics';
import { type SampleValidityOptions, validatedSamples } from './sample-validity';
import { zeroSpreadFractionOfValid } from './zero-spread';

/** Options of {@link rlooAdvantages}. */
export interface RlooAdvantagesOptions extends SampleValidityOptions {
  /** One reward per sample; groups are contiguous runs of `groupSize`. */
  rewards: readonly number[];
  /** Samples per prompt; `rewards.length` must be a multiple of it. */
  groupSize: number;
  /**
   * `'none'` (default): `A_i = r_i - b_i`. `'leave-one-out-std'` (NeMo-RL's
   * GRPO with `use_leave_one_out_baseline` and `normalize_rewards`): divide by
   * the sample standard deviation of the *other* valid samples plus
   * `epsilon`, and not at all where that deviation is 0.
   */
  scale?: 'none' | 'leave-one-out-std';
  /** Added to the leave-one-out std; default `1e-6` (NeMo-RL). Only with `scale: 'leave-one-out-std'`. */
  epsilon?: number;
  /**
   * `'none'` (default) or `'batch'`: then whiten the advantages over the batch,
   * `(A - mean(A)) / (std(A) + 1e-4)` with the sample std, over the samples
   * whose advantage is defined (valid, in a group with two valid or more), as
   * TRL's `RLOOTrainer(normalize_advantages=True)`.
   */
  normalize?: 'none' | 'batch';
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
 * With `scale: 'leave-one-out-std'` (NeMo-RL) `A_i` is divided by
 * `std_{j != i}(r_j) + epsilon`; with `normalize: 'batch'` (TRL) the
 * advantages are then whitened over the batch. Invalid samples (`validMask`,
 * NaN with `nanRewards: 'ignore'`) are left out and get 0; `n` counts the
 * valid samples (TRL divides by the scorable count minus one, NeMo-RL by the
 * valid count minus one).
 *
 * Conventions: a group with fewer than two valid samples has no other sample
 * to form a baseline, so it gets 0 (TRL and OpenRLHF require groups of at
 * least two; NeMo-RL sets the baseline to the reward, also 0); equal rewards
 * give exactly 0; an empty batch gives empty arrays.
 *
 * @throws NonFiniteError naming `rewards[i]` when a reward is NaN (unless ignored) or infinite.
 * @throws InvalidArgumentError when `rewards.length` is not a multiple of `groupSize`.
 *
 * @example
 * ```ts
 * rlooAdvantages({ rewards: [1, 0, 0, 0], groupSize: 4 }).advantages;
 * // [1, -1/3, -1/3, -1/3]
 * ```
 */
export function rlooAdvantages(options: RlooAdvantagesOptions): RlooAdvantagesResult {
  const {
    rewards,
    groupSize,
    zeroSpreadTolerance = 0,
    scale = 'none',
    epsilon,
    normalize = 'none',
  } = options;
  const { cleanRewards, valid } = validatedSamples(rewards, groupSize, options);
  assertNonNegative('zeroSpreadTolerance', zeroSpreadTolerance);
  assertOneOf('scale', scale, ['none', 'leave-one-out-std'] as const);
  assertOneOf('normalize', normalize, ['none', 'batch'] as const);
  if (epsilon !== undefined) {
    assertNonNegative('epsilon', epsilon);
    if (scale !== 'leave-one-out-std') {
      throw new InvalidArgumentError({
        argument: 'epsilon',
        value: epsilon,
        message: `is only used with scale 'leave-one-out-std', not '${scale}'`,
      });
    }
  }
  const leaveOneOutEpsilon = epsilon ?? 1e-6;
  const advantages: number[] = [];
  const defined: boolean[] = [];
  groupsOf(cleanRewards, groupSize).forEach((allOfGroup, groupIndex) => {
    const flags = valid.slice(groupIndex * groupSize, (groupIndex + 1) * groupSize);
    const group = allOfGroup.filter((_, index) => flags[index]);
    const count = group.length;
    const groupDefined = count >= 2;
    flags.forEach((flag) => {
      defined.push(flag && groupDefined);
    });
    if (!groupDefined || spreadOf(group) === 0) {
      for (let index = 0; index < allOfGroup.length; index++) advantages.push(0);
      return;
    }
    const factor = powerOfTwoScale(group);
    const scaled = group.map((reward) => reward * factor);
    const center = meanOf(scaled);
    const correction = count / (count - 1);
    let validIndex = 0;
    allOfGroup.forEach((_, index) => {
      if (!flags[index]) {
        advantages.push(0);
        return;
      }
      const own = validIndex++;
      const value = scaled[own]!;
      let advantage = (value - center) * correction;
      if (scale === 'leave-one-out-std') {
        const others = scaled.filter((_, other) => other !== own);
        const deviation = sampleStandardDeviationOf(others);
        if (deviation > 0) advantage /= deviation + leaveOneOutEpsilon * factor;
        else advantage /= factor;
        advantages.push(advantage);
        return;
      }
      advantages.push(advantage / factor);
    });
  });
  if (normalize === 'batch') {
    const kept = advantages.filter((_, index) => defined[index]);
    if (kept.length > 0) {
      const factor = powerOfTwoScale(kept);
      const scaledKept = kept.map((value) => value * factor);
      const mean = meanOf(scaledKept);
      const deviation = sampleStandardDeviationOf(scaledKept);
      for (let index = 0; index < advantages.length; index++) {
        advantages[index] = defined[index]
          ? (advantages[index]! * factor - mean) / (deviation + 1e-4 * factor)
          : 0;
      }
    }
  }
  assertFiniteResult('advantages', advantages);
  return {
    advantages,
    zeroSpreadGroupFraction: zeroSpreadFractionOfValid(
      cleanRewards,
      groupSize,
      zeroSpreadTolerance,
      valid,
    ),
  };
}
