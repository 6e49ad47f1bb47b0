import type { Trajectory } from '@cohort/core';
import { batchedGeneralizedAdvantageEstimation, whitenRows } from '@cohort/value';

/** Per-turn quantities of one trajectory for PPO over conversations. */
export interface TurnTargets {
  /** Index in `tokenIds` of the last token before each agent turn: the state the turn acts from. */
  statePositions: number[];
  /** Token range `[start, end)` of each agent turn. */
  turnRanges: [number, number][];
  rewards: number[];
}

/**
 * The agent turns of a trajectory as an MDP: state k is the conversation up to
 * the token before turn k, the action is the turn, and the reward is the
 * turn's reward; the episode-level rest of the return (rewards scored once at
 * the end, a KL penalty folded into the reward) is added to the last turn.
 */
export function turnTargets(trajectory: Trajectory, extraFinalReward = 0): TurnTargets {
  const turns = trajectory.turns.filter((turn) => turn.role === 'assistant');
  const turnRewardSum = trajectory.rewardsPerTurn.reduce((sum, value) => sum + value, 0);
  const rewards = turns.map((_, index) => trajectory.rewardsPerTurn[index] ?? 0);
  if (rewards.length > 0) {
    rewards[rewards.length - 1]! += trajectory.totalReward - turnRewardSum + extraFinalReward;
  }
  return {
    statePositions: turns.map((turn) => Math.max(0, turn.tokenStart - 1)),
    turnRanges: turns.map((turn) => [turn.tokenStart, turn.tokenEnd]),
    rewards,
  };
}

/**
 * GAE over agent turns (Schulman et al. 2015, eq. 16, with one step per turn),
 * then whitening of the advantages over the batch (as PPO implementations do),
 * broadcast over each turn's tokens.
 */
export function turnLevelAdvantages(options: {
  trajectories: readonly Trajectory[];
  /** `values[i][k]`: V of state k of trajectory i. */
  values: readonly (readonly number[])[];
  targets: readonly TurnTargets[];
  gamma: number;
  lambda: number;
}): { advantagesPerToken: number[][]; returnsPerTurn: number[][] } {
  const gae = batchedGeneralizedAdvantageEstimation({
    trajectories: options.targets.map((target, index) => ({
      rewards: target.rewards,
      values: [...options.values[index]!],
    })),
    gamma: options.gamma,
    lambda: options.lambda,
  });
  // Population variance, epsilon added inside the square root. Unchecked: a non-finite value
  // (a diverged critic) must reach the loss, whose non-finite check skips the update.
  const whitened = whitenRows(gae.advantages, () => true, { variance: 'population' });
  const advantagesPerToken = options.trajectories.map((trajectory, row) => {
    const perToken = new Array<number>(trajectory.tokenIds.length).fill(0);
    options.targets[row]!.turnRanges.forEach(([start, end], turn) => {
      const advantage = whitened[row]![turn]!;
      for (let position = start; position < end; position++) perToken[position] = advantage;
    });
    return perToken;
  });
  return { advantagesPerToken, returnsPerTurn: gae.returns };
}
