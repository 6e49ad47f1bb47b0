import { assertOneOf, InvalidArgumentError } from '@cohort/core';
import {
  assertFiniteResult,
  assertGroupedRewards,
  assertNonNegative,
  assertNumberArray,
  groupsOf,
  meanOf,
  powerOfTwoScale,
  spreadOf,
} from './numerics';
import { zeroSpreadFractionOfValid } from './zero-spread';

/** Options of {@link reinforcePlusPlusAdvantages}. */
export interface ReinforcePlusPlusAdvantagesOptions {
  /** One reward per sample; groups are contiguous runs of `groupSize`. */
  rewards: readonly number[];
  /** Samples per prompt; `rewards.length` must be a multiple of it. */
  groupSize: number;
  /**
   * `'group-mean'` (default; REINFORCE++-baseline): subtract the group mean before
   * whitening. `'none'` (plain REINFORCE++): whiten the rewards as they are.
   */
  baseline?: 'group-mean' | 'none';
  /**
   * `'population'` (default; divide by N, as OpenRLHF) or `'sample'` (divide by
   * N - 1, as verl's `masked_whiten`). A batch of one has variance 0 either way.
   */
  variance?: 'population' | 'sample';
  /** Added to the variance inside the square root. Default `1e-8` (OpenRLHF and verl). */
  epsilon?: number;
  /**
   * Optional weight per sample in the whitening statistics, typically its number
   * of completion tokens. OpenRLHF and verl whiten over all masked tokens of the
   * batch; with token counts as weights (and the advantage broadcast over the
   * tokens) this gives exactly their numbers. Default: every sample weighs 1.
   */
  tokenCountsPerSample?: readonly number[];
  /** Absolute tolerance for the reported zero-spread fraction. Default 0. */
  zeroSpreadTolerance?: number;
}

/** Result of {@link reinforcePlusPlusAdvantages}. */
export interface ReinforcePlusPlusAdvantagesResult {
  /** One advantage per sample, in input order. */
  advantages: number[];
  /** Fraction of groups whose rewards have zero spread; 0 for an empty batch. */
  zeroSpreadGroupFraction: number;
  /** The (weighted) batch mean removed by whitening. */
  batchMean: number;
  /** The (weighted) batch variance used by whitening, before epsilon. */
  batchVariance: number;
}

/**
 * REINFORCE++ advantages (Hu 2025, "REINFORCE++: A Simple and Efficient Approach
 * for Aligning Large Language Models", sec. 3): an optional group-mean baseline,
 * then whitening over the whole batch,
 *
 * `x_i = r_i - mean_g` (or `x_i = r_i`), `A_i = (x_i - mean(x)) / sqrt(var(x) + epsilon)`
 *
 * with `var` the population variance by default. Conventions: a batch whose
 * values are all equal gets exactly 0; an empty batch gives empty arrays.
 *
 * @throws NonFiniteError naming `rewards[i]` when a reward is NaN or infinite.
 * @throws InvalidArgumentError when `rewards.length` is not a multiple of `groupSize`.
 *
 * @example
 * ```ts
 * reinforcePlusPlusAdvantages({ rewards: [1, 0, 3, 1], groupSize: 2 }).advantages;
 * // centered [0.5, -0.5, 1, -1]; population variance 0.625 -> [0.632, -0.632, 1.265, -1.265]
 * ```
 */
export function reinforcePlusPlusAdvantages(
  options: ReinforcePlusPlusAdvantagesOptions,
): ReinforcePlusPlusAdvantagesResult {
  const {
    rewards,
    groupSize,
    baseline = 'group-mean',
    variance = 'population',
    epsilon = 1e-8,
    tokenCountsPerSample,
    zeroSpreadTolerance = 0,
  } = options;
  assertGroupedRewards(rewards, groupSize);
  assertOneOf('baseline', baseline, ['group-mean', 'none'] as const);
  assertOneOf('variance', variance, ['population', 'sample'] as const);
  assertNonNegative('epsilon', epsilon);
  assertNonNegative('zeroSpreadTolerance', zeroSpreadTolerance);
  const weights = tokenCountsPerSample ?? rewards.map(() => 1);
  if (tokenCountsPerSample !== undefined) {
    assertNumberArray('tokenCountsPerSample', tokenCountsPerSample);
    if (tokenCountsPerSample.length !== rewards.length) {
      throw new InvalidArgumentError({
        argument: 'tokenCountsPerSample.length',
        value: tokenCountsPerSample.length,
        message: `must equal rewards.length = ${rewards.length}`,
      });
    }
    tokenCountsPerSample.forEach((count, index) => {
      assertNonNegative(`tokenCountsPerSample[${index}]`, count);
    });
  }

  const centered: number[] = [];
  for (const group of groupsOf(rewards, groupSize)) {
    if (baseline === 'none') centered.push(...group);
    else if (spreadOf(group) === 0) centered.push(...group.map(() => 0));
    else {
      const factor = powerOfTwoScale(group);
      const center = meanOf(group.map((reward) => reward * factor)) / factor;
      for (const reward of group) centered.push(reward - center);
    }
  }

  const zeroSpread = zeroSpreadFractionOfValid(rewards, groupSize, zeroSpreadTolerance);
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  if (centered.length === 0 || totalWeight === 0 || spreadOf(centered) === 0) {
    return {
      advantages: centered.map(() => 0),
      zeroSpreadGroupFraction: zeroSpread,
      batchMean: centered[0] ?? 0,
      batchVariance: 0,
    };
  }

  const factor = powerOfTwoScale(centered);
  const scaled = centered.map((value) => value * factor);
  let weightedSum = 0;
  scaled.forEach((value, index) => {
    weightedSum += value * weights[index]!;
  });
  const mean = weightedSum / totalWeight;
  let sumOfSquares = 0;
  scaled.forEach((value, index) => {
    sumOfSquares += weights[index]! * (value - mean) ** 2;
  });
  const divisor = variance === 'population' ? totalWeight : totalWeight - 1;
  const scaledVariance = divisor > 0 ? sumOfSquares / divisor : 0;
  // In scaled units sqrt(var + eps) is sqrt(var_s + eps * f^2). For f <= 1 (huge values) that
  // cannot overflow; for f > 1 (tiny values) eps * f^2 might, so factor f out instead.
  let denominator: number;
  if (epsilon === 0) denominator = Math.sqrt(scaledVariance);
  else if (factor <= 1) denominator = Math.sqrt(scaledVariance + epsilon * factor * factor);
  else denominator = Math.sqrt(scaledVariance / (factor * factor) + epsilon) * factor;
  // Only reachable with epsilon = 0 and all weight on equal values: no spread to whiten.
  const advantages = scaled.map((value) => (denominator === 0 ? 0 : (value - mean) / denominator));
  assertFiniteResult('advantages', advantages);
  return {
    advantages,
    zeroSpreadGroupFraction: zeroSpread,
    batchMean: mean / factor,
    batchVariance: scaledVariance / factor / factor,
  };
}
