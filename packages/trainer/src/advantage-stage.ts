import type { AdvantageEstimator, Trajectory } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { sequenceAdvantagesToTokens } from './trajectory-batch';
import { type TurnTargets, turnLevelAdvantages, turnTargets } from './turn-advantages';
import type { TrainableValueFunction } from './value-function';

/** The critic's regression targets, handed from the advantage stage to the critic-learning stage. */
export interface CriticTargets {
  targets: TurnTargets[];
  /** `[trajectory][turn]` V of each turn's state before the update. */
  oldValues: number[][];
  /** `[trajectory][turn]` GAE returns `A + V`: what the critic regresses to. */
  returnsPerTurn: number[][];
}

/** What the advantage stage hands on. */
export interface AdvantageRecord {
  /** `[trajectory][position]` advantage of each token (only sampled tokens are read). */
  advantagesPerToken: number[][];
  /** One advantage per trajectory, when the estimator is sequence-level. */
  advantagesPerTrajectory?: number[];
  /** Present when a critic gave the baseline: its regression targets. */
  criticTargets?: CriticTargets;
}

/** Input of {@link AdvantageStage.estimate}: trajectories in groups of `groupSize`, with their shaped returns. */
export interface AdvantageStageInput {
  trajectories: readonly Trajectory[];
  returns: readonly number[];
  groupSize: number;
}

/** The advantage stage: shaped returns in, per-token advantages out. PPO and GRPO differ only here. */
export interface AdvantageStage {
  readonly name: string;
  estimate(input: AdvantageStageInput): AdvantageRecord;
}

/**
 * Advantages from any {@link AdvantageEstimator} over the episode returns
 * (group-relative, leave-one-out, REINFORCE++, a user's own), broadcast over
 * each trajectory's tokens.
 *
 * @example
 * ```ts
 * const stage = groupAdvantageStage(createAdvantageEstimator({ type: 'rloo' }));
 * stage.estimate({ trajectories, returns, groupSize: 8 }).advantagesPerToken;
 * ```
 */
export function groupAdvantageStage(estimator: AdvantageEstimator): AdvantageStage {
  return {
    name: estimator.name,
    estimate({ trajectories, returns, groupSize }) {
      if (trajectories.length === 0) return { advantagesPerToken: [], advantagesPerTrajectory: [] };
      const { advantages } = estimator.estimate({ rewards: returns, groupSize });
      return {
        advantagesPerToken: sequenceAdvantagesToTokens(trajectories, advantages),
        advantagesPerTrajectory: advantages,
      };
    },
  };
}

/**
 * PPO's advantages: GAE over agent turns (Schulman et al. 2015, eq. 16) with
 * the critic's values of each turn's state as the baseline, whitened over the
 * batch; the part of a shaped return beyond the total reward (a KL penalty in
 * the reward) is added to the last turn's reward.
 *
 * @example
 * ```ts
 * const stage = criticAdvantageStage({ valueFunction, gamma: 1, lambda: 0.95, minibatchSize: 16 });
 * ```
 */
export function criticAdvantageStage(options: {
  valueFunction: TrainableValueFunction;
  gamma: number;
  lambda: number;
  /** Rows per forward pass of the critic. */
  minibatchSize: number;
}): AdvantageStage {
  return {
    name: 'gae',
    estimate({ trajectories, returns }) {
      if (trajectories.length === 0) return { advantagesPerToken: [] };
      const targets = trajectories.map((trajectory, index) =>
        turnTargets(trajectory, returns[index]! - trajectory.totalReward),
      );
      const oldValues = stateValues(
        options.valueFunction,
        trajectories,
        targets,
        options.minibatchSize,
      );
      const gae = turnLevelAdvantages({
        trajectories,
        values: oldValues,
        targets,
        gamma: options.gamma,
        lambda: options.lambda,
      });
      return {
        advantagesPerToken: gae.advantagesPerToken,
        criticTargets: { targets, oldValues, returnsPerTurn: gae.returnsPerTurn },
      };
    },
  };
}

/** V at each turn's state, read without gradient: `result[i][k]`. */
function stateValues(
  valueFunction: TrainableValueFunction,
  trajectories: readonly Trajectory[],
  targets: readonly TurnTargets[],
  minibatchSize: number,
): number[][] {
  const result: number[][] = [];
  for (let start = 0; start < trajectories.length; start += minibatchSize) {
    const rows = trajectories.slice(start, start + minibatchSize);
    const values = tf.tidy(() =>
      valueFunction.values({ sequences: rows.map((trajectory) => trajectory.tokenIds) }),
    );
    const matrix = values.arraySync() as number[][];
    values.dispose();
    rows.forEach((_, offset) => {
      result.push(
        targets[start + offset]!.statePositions.map((position) => matrix[offset]![position]!),
      );
    });
  }
  return result;
}
