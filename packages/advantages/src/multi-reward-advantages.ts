import { assertOneOf, InvalidArgumentError } from '@cohort/core';
import { groupRelativeAdvantages } from './group-relative-advantages';
import { assertFiniteResult, assertNonNegative, assertNumberArray } from './numerics';

/** Options of {@link multiRewardAdvantages}. */
export interface MultiRewardAdvantagesOptions {
  /**
   * One row per sample, one reward per component (reward function). A NaN is
   * a component that could not score the sample (TRL's `None`); a row of
   * NaN is an unscorable sample, whose advantage is 0.
   */
  rewardsPerComponent: readonly (readonly number[])[];
  /** Samples per prompt; the number of rows must be a multiple of it. */
  groupSize: number;
  /** Weight per component; default 1 each. */
  weights?: readonly number[];
  /**
   * `'sum-then-normalize'` (default; GRPO, TRL's default): the weighted sum of
   * the components, then group-normalized. `'normalize-then-sum'` (GDPO, Liu
   * et al. 2026, "Group reward-Decoupled normalization Policy Optimization";
   * TRL `multi_objective_aggregation='normalize_then_sum'`): each component
   * normalized within its group, then the weighted sum, then normalized over
   * the batch.
   */
  aggregation?: 'sum-then-normalize' | 'normalize-then-sum';
  /** Added to every standard deviation; default `1e-4` (TRL). */
  epsilon?: number;
}

/** Mean and sample std (n - 1) of the non-NaN values, as TRL's `nanmean` and `nanstd`; NaN std for fewer than two. */
function nanStatistics(values: readonly number[]): { mean: number; std: number } {
  const present = values.filter((value) => !Number.isNaN(value));
  if (present.length === 0) return { mean: Number.NaN, std: Number.NaN };
  const mean = present.reduce((sum, value) => sum + value, 0) / present.length;
  if (present.length < 2) return { mean, std: Number.NaN };
  const squares = present.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  return { mean, std: Math.sqrt(squares / (present.length - 1)) };
}

/**
 * Advantages from several reward components per sample, as TRL's
 * `GRPOTrainer` with several reward functions:
 *
 * - `'sum-then-normalize'`: `r_i = sum_k w_k r_ik` (NaN components skipped),
 *   then `A_i = (r_i - mean_g) / (std_g + epsilon)` over the group's scorable
 *   samples;
 * - `'normalize-then-sum'` (GDPO): `z_ik = (r_ik - mean_gk) / (std_gk + epsilon)`
 *   per component within the group, `s_i = sum_k w_k z_ik`, then
 *   `A_i = (s_i - mean(s)) / (std(s) + epsilon)` over the batch. Each
 *   component then weighs by its weight, not by its spread: a binary
 *   format reward no longer drowns a rarely varying correctness reward.
 *
 * Standard deviations are sample ones (n - 1) that ignore NaN (TRL `nanstd`);
 * a statistic over fewer than two values is undefined and its terms drop out
 * (TRL's NaN then `nansum`); unscorable samples get advantage 0.
 *
 * @throws InvalidArgumentError naming the row, the component count, the weights or a setting.
 * @throws NonFiniteError naming `rewardsPerComponent[i]` when a reward is infinite.
 *
 * @example
 * ```ts
 * multiRewardAdvantages({ rewardsPerComponent: [[1, 0], [0, 0], [1, 1], [0, 1]], groupSize: 4, aggregation: 'normalize-then-sum' });
 * ```
 */
export function multiRewardAdvantages(options: MultiRewardAdvantagesOptions): {
  advantages: number[];
} {
  const {
    rewardsPerComponent,
    groupSize,
    aggregation = 'sum-then-normalize',
    epsilon = 1e-4,
  } = options;
  assertOneOf('aggregation', aggregation, ['sum-then-normalize', 'normalize-then-sum'] as const);
  assertNonNegative('epsilon', epsilon);
  if (!Array.isArray(rewardsPerComponent)) {
    throw new InvalidArgumentError({
      argument: 'rewardsPerComponent',
      value: rewardsPerComponent,
      message: 'must be an array of rows, one reward per component',
    });
  }
  const componentCount = rewardsPerComponent[0]?.length ?? 0;
  rewardsPerComponent.forEach((row, index) => {
    if (!Array.isArray(row) || row.length !== componentCount) {
      throw new InvalidArgumentError({
        argument: `rewardsPerComponent[${index}]`,
        value: row,
        message: `must be an array of ${componentCount} rewards, as the first row`,
      });
    }
    assertNumberArray(
      `rewardsPerComponent[${index}]`,
      row.map((reward) => (Number.isNaN(reward) ? 0 : reward)),
    );
  });
  const weights = options.weights ?? new Array<number>(componentCount).fill(1);
  assertNumberArray('weights', weights);
  if (weights.length !== componentCount) {
    throw new InvalidArgumentError({
      argument: 'weights.length',
      value: weights.length,
      message: `must equal the number of components, ${componentCount}`,
    });
  }
  if (
    !(Number.isInteger(groupSize) && groupSize >= 1) ||
    rewardsPerComponent.length % groupSize !== 0
  ) {
    throw new InvalidArgumentError({
      argument: 'groupSize',
      value: groupSize,
      message: `must be an integer >= 1 that divides the number of rows, ${rewardsPerComponent.length}`,
    });
  }
  const unscorable = rewardsPerComponent.map((row: readonly number[]) =>
    row.every((reward) => Number.isNaN(reward)),
  );
  const weightedSum = (row: readonly number[]) =>
    row.reduce((sum, reward, k) => (Number.isNaN(reward) ? sum : sum + weights[k]! * reward), 0);

  if (aggregation === 'sum-then-normalize') {
    const summed = rewardsPerComponent.map((row, index) =>
      unscorable[index] ? Number.NaN : weightedSum(row),
    );
    return {
      advantages: groupRelativeAdvantages({
        rewards: summed,
        groupSize,
        epsilon,
        nanRewards: 'ignore',
      }).advantages,
    };
  }

  const normalized = rewardsPerComponent.map((row) => row.map(() => Number.NaN));
  for (let start = 0; start < rewardsPerComponent.length; start += groupSize) {
    for (let k = 0; k < componentCount; k++) {
      const column = rewardsPerComponent.slice(start, start + groupSize).map((row) => row[k]!);
      const { mean, std } = nanStatistics(column);
      const present = column.filter((reward) => !Number.isNaN(reward));
      // Equal rewards give exactly 0, not a rounding residue of the mean divided by epsilon.
      const flat = present.every((reward) => reward === present[0]);
      column.forEach((reward, offset) => {
        normalized[start + offset]![k] =
          flat && !Number.isNaN(reward) && present.length > 1
            ? 0
            : (reward - mean) / (std + epsilon);
      });
    }
  }
  const sums = normalized.map((row, index) => (unscorable[index] ? Number.NaN : weightedSum(row)));
  const { mean, std } = nanStatistics(sums);
  const advantages = sums.map((sum) => {
    const value = (sum - mean) / (std + epsilon);
    return Number.isNaN(value) ? 0 : value;
  });
  assertFiniteResult('advantages', advantages);
  return { advantages };
}
