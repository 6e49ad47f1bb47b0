import { assertOneOf, InvalidArgumentError } from '@cohort/core';
import {
  assertFiniteResult,
  assertNonNegative,
  groupsOf,
  meanOf,
  medianOf,
  powerOfTwoScale,
  sampleStandardDeviationOf,
  spreadOf,
} from './numerics';
import { type SampleValidityOptions, validatedSamples } from './sample-validity';
import { zeroSpreadFractionOfValid } from './zero-spread';

/** How {@link groupRelativeAdvantages} divides the centered rewards. */
export type GroupScale = 'group' | 'batch' | 'none';

/** What {@link groupRelativeAdvantages} subtracts from each reward. */
export type GroupBaseline = 'mean' | 'median';

/** Options of {@link groupRelativeAdvantages}. */
export interface GroupRelativeAdvantagesOptions extends SampleValidityOptions {
  /** One reward per sample; groups are contiguous runs of `groupSize`. */
  rewards: readonly number[];
  /** Samples per prompt; `rewards.length` must be a multiple of it. */
  groupSize: number;
  /**
   * `'group'` (default, GRPO): divide by the sample standard deviation of the group;
   * `'batch'`: by the sample standard deviation of all rewards in the batch;
   * `'none'` (Dr. GRPO): do not divide.
   */
  scale?: GroupScale;
  /**
   * Added to the standard deviation before dividing. Default `1e-4`, as in TRL's
   * GRPOTrainer; verl uses `1e-6`. Ignored when `scale` is `'none'`.
   */
  epsilon?: number;
  /** `'mean'` (default) or `'median'` of the group. The spread is the standard deviation either way. */
  baseline?: GroupBaseline;
  /** Absolute tolerance for the reported zero-spread fraction. Default 0. */
  zeroSpreadTolerance?: number;
  /**
   * Optional floor on the variance before the square root,
   * `s = sqrt(max(s^2, varianceFloor))`, as verl's vectorised GRPO
   * (`group_mean_std`, floor = its epsilon, 1e-6). Default: none.
   */
  varianceFloor?: number;
}

/** Result of {@link groupRelativeAdvantages}. */
export interface GroupRelativeAdvantagesResult {
  /** One advantage per sample, in input order. */
  advantages: number[];
  /** Fraction of groups whose rewards have zero spread; 0 for an empty batch. */
  zeroSpreadGroupFraction: number;
  /** The baseline (mean or median) subtracted in each group. */
  baselinePerGroup: number[];
  /** The sample standard deviation (n - 1) of each group's valid rewards; 0 for fewer than two. */
  standardDeviationPerGroup: number[];
}

/**
 * Group-relative advantages of GRPO (Shao et al. 2024, DeepSeekMath, sec. 4.1.2)
 * and Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like Training", sec. 3.2):
 *
 * `A_i = (r_i - b_g) / (s + epsilon)`
 *
 * with `b_g` the mean (or median) of sample i's group, and `s` the sample
 * standard deviation (n - 1, as `torch.std` in TRL and verl) of the group
 * (`scale: 'group'`), of the whole batch (`'batch'`), or no division at all
 * (`'none'`, where `A_i = r_i - b_g`).
 *
 * Validity (`validMask`, or NaN rewards with `nanRewards: 'ignore'`): invalid
 * samples are left out of every statistic and get advantage 0, as NeMo-RL's
 * `valid_mask` and TRL's `nanmean`/`nanstd` (which gives an unscorable
 * completion advantage 0). `varianceFloor` is verl's vectorised GRPO:
 * `(r - mean) / (sqrt(max(var, floor)) + epsilon)`.
 *
 * Conventions: a group of one (valid sample) gets advantage 0 (there is nothing to compare it
 * with; verl instead uses mean 0, std 1 and returns the raw reward). A group whose
 * rewards are all equal gets exactly 0 (not a rounding residue divided by
 * epsilon). An empty batch gives empty arrays and a zero-spread fraction of 0.
 * Huge and tiny rewards are handled by exact power-of-two rescaling.
 *
 * @throws NonFiniteError naming `rewards[i]` when a reward is NaN or infinite.
 * @throws InvalidArgumentError when `rewards.length` is not a multiple of `groupSize`.
 *
 * @example
 * ```ts
 * const { advantages } = groupRelativeAdvantages({ rewards: [1, 0, 0, 0], groupSize: 2 });
 * // group [1, 0]: mean 0.5, std 0.7071 -> [0.7070, -0.7070]; group [0, 0] -> [0, 0]
 * ```
 */
export function groupRelativeAdvantages(
  options: GroupRelativeAdvantagesOptions,
): GroupRelativeAdvantagesResult {
  const {
    rewards,
    groupSize,
    scale = 'group',
    epsilon = 1e-4,
    baseline = 'mean',
    zeroSpreadTolerance = 0,
    varianceFloor,
  } = options;
  const { cleanRewards, valid } = validatedSamples(rewards, groupSize, options);
  assertOneOf('scale', scale, ['group', 'batch', 'none'] as const);
  assertOneOf('baseline', baseline, ['mean', 'median'] as const);
  assertNonNegative('epsilon', epsilon);
  assertNonNegative('zeroSpreadTolerance', zeroSpreadTolerance);
  if (varianceFloor !== undefined) {
    assertNonNegative('varianceFloor', varianceFloor);
    if (scale === 'none') {
      throw new InvalidArgumentError({
        argument: 'varianceFloor',
        value: varianceFloor,
        message: "has no effect with scale 'none', which does not divide",
      });
    }
  }

  const validRewards = cleanRewards.filter((_, index) => valid[index]);
  let batchStandardDeviation = 0;
  if (scale === 'batch') {
    const batchScale = powerOfTwoScale(validRewards);
    batchStandardDeviation =
      sampleStandardDeviationOf(validRewards.map((reward) => reward * batchScale)) / batchScale;
  }

  const advantages: number[] = [];
  const baselinePerGroup: number[] = [];
  const standardDeviationPerGroup: number[] = [];
  const groups = groupsOf(cleanRewards, groupSize);
  groups.forEach((allOfGroup, groupIndex) => {
    const flags = valid.slice(groupIndex * groupSize, (groupIndex + 1) * groupSize);
    const group = allOfGroup.filter((_, index) => flags[index]);
    // Work in units where the largest |reward| of the group is near 1; the factor is a power of two, so exact.
    const factor = powerOfTwoScale(group);
    const scaled = group.map((reward) => reward * factor);
    const center = baseline === 'mean' ? meanOf(scaled) : medianOf(scaled);
    const deviation = sampleStandardDeviationOf(scaled);
    baselinePerGroup.push(center / factor);
    standardDeviationPerGroup.push(deviation / factor);
    if (group.length < 2 || spreadOf(group) === 0) {
      for (let index = 0; index < allOfGroup.length; index++) advantages.push(0);
      return;
    }
    const floored =
      varianceFloor === undefined
        ? deviation
        : Math.max(deviation, Math.sqrt(varianceFloor) * factor);
    allOfGroup.forEach((reward, index) => {
      if (!flags[index]) {
        advantages.push(0);
        return;
      }
      const centered = reward * factor - center;
      if (scale === 'group') advantages.push(centered / (floored + epsilon * factor));
      else if (scale === 'none') advantages.push(centered / factor);
      else {
        const batchDeviation =
          varianceFloor === undefined
            ? batchStandardDeviation
            : Math.max(batchStandardDeviation, Math.sqrt(varianceFloor));
        advantages.push(centered / factor / (batchDeviation + epsilon));
      }
    });
  });
  assertFiniteResult('advantages', advantages);
  return {
    advantages,
    zeroSpreadGroupFraction: zeroSpreadFractionOfValid(
      cleanRewards,
      groupSize,
      zeroSpreadTolerance,
      valid,
    ),
    baselinePerGroup,
    standardDeviationPerGroup,
  };
}
