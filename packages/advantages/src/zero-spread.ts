import { assertGroupedRewards, assertNonNegative, groupsOf, spreadOf } from './numerics';

/** Options of {@link zeroSpreadGroupFraction} and {@link zeroSpreadGroupIndices}. */
export interface ZeroSpreadOptions {
  /** One reward per sample; groups are contiguous runs of `groupSize`. */
  rewards: readonly number[];
  /** Samples per prompt; `rewards.length` must be a multiple of it. */
  groupSize: number;
  /**
   * A group has zero spread when `max - min <= tolerance` (absolute). Default 0:
   * exactly equal rewards.
   */
  tolerance?: number;
}

/**
 * Fraction of zero-spread groups for already validated input; used by the
 * estimators so that they do not validate the rewards twice. With `valid`,
 * only the valid samples of a group count; a group with fewer than two
 * (valid) samples has zero spread.
 */
export function zeroSpreadFractionOfValid(
  rewards: readonly number[],
  groupSize: number,
  tolerance: number,
  valid?: readonly boolean[],
): number {
  const groupCount = rewards.length / groupSize;
  if (groupCount === 0) return 0;
  let flat = 0;
  for (let start = 0; start < rewards.length; start += groupSize) {
    let minimum = Number.POSITIVE_INFINITY;
    let maximum = Number.NEGATIVE_INFINITY;
    let count = 0;
    for (let index = start; index < start + groupSize; index++) {
      if (valid !== undefined && !valid[index]) continue;
      count++;
      minimum = Math.min(minimum, rewards[index]!);
      maximum = Math.max(maximum, rewards[index]!);
    }
    if (count < 2 || maximum - minimum <= tolerance) flat++;
  }
  return flat / groupCount;
}

function zeroSpreadFlags({ rewards, groupSize, tolerance = 0 }: ZeroSpreadOptions): boolean[] {
  assertGroupedRewards(rewards, groupSize);
  assertNonNegative('tolerance', tolerance);
  return groupsOf(rewards, groupSize).map((group) => spreadOf(group) <= tolerance);
}

/**
 * Indices of the groups whose rewards have zero spread, `max - min <= tolerance`.
 * Such a group gives every sample the same advantage under a group baseline, so
 * it carries no policy-gradient signal; DAPO's dynamic sampling (Yu et al. 2025)
 * drops these groups and samples more prompts. A group of one always has zero
 * spread. An empty batch has no groups and gives `[]`.
 *
 * @example
 * ```ts
 * zeroSpreadGroupIndices({ rewards: [1, 1, 0, 1, 2, 2], groupSize: 2 }); // [0, 2]
 * ```
 */
export function zeroSpreadGroupIndices(options: ZeroSpreadOptions): number[] {
  const indices: number[] = [];
  zeroSpreadFlags(options).forEach((flag, index) => {
    if (flag) indices.push(index);
  });
  return indices;
}

/**
 * The fraction of groups whose rewards have zero spread, `max - min <= tolerance`
 * (TRL logs the same quantity as `frac_reward_zero_std`). An empty batch has no
 * groups; it gives 0 rather than NaN, so that a trainer that resamples when the
 * fraction is high is not triggered by an empty batch.
 *
 * @example
 * ```ts
 * zeroSpreadGroupFraction({ rewards: [1, 1, 0, 1, 2, 2], groupSize: 2 }); // 2 / 3
 * ```
 */
export function zeroSpreadGroupFraction(options: ZeroSpreadOptions): number {
  const flags = zeroSpreadFlags(options);
  if (flags.length === 0) return 0;
  return flags.filter(Boolean).length / flags.length;
}
