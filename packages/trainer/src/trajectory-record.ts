import type { Trajectory } from '@cohort/core';

/**
 * What one trajectory became in one training step, per token where it is per
 * token: the record a console or a log writes for inspection. Plain numbers
 * and arrays only, so it serializes as JSON.
 */
export interface TrajectoryRecord {
  trajectoryId: string;
  groupId: string;
  scenarioId: string;
  /** The weight version that sampled the trajectory, and the one that learned from it. */
  policyVersion: number;
  learnerVersion: number;
  tokenIds: number[];
  lossMask: (0 | 1)[];
  /** Log-prob of each token under the policy that sampled it (0 off the mask). */
  behaviorLogProbsPerToken: number[];
  /** Advantage of each token the loss saw (0 off the mask). */
  advantagesPerToken: number[];
  /** Per-token KL to the reference with the configured estimator; empty when the KL term is off. */
  klPerToken: number[];
  /** Entropy of the policy at each position at the first learning pass; empty when not computed. */
  entropyPerToken: number[];
  rewardsPerTurn: number[];
  rewardsByFunction: Record<string, number | null>;
  totalReward: number;
  /** The return the advantage stage saw (the total reward, less the KL penalty when it is in the reward). */
  shapedReturn: number;
  endReason: Trajectory['endReason'];
  truncated: boolean;
}

/**
 * Joins each stage's per-trajectory output into {@link TrajectoryRecord}s.
 *
 * @example
 * ```ts
 * const records = buildTrajectoryRecords({ groups, returns, advantagesPerToken, klPerToken: [], entropyPerToken: [], learnerVersion: 3 });
 * ```
 */
export function buildTrajectoryRecords(options: {
  groups: readonly { groupId: string; trajectories: readonly Trajectory[] }[];
  returns: readonly number[];
  advantagesPerToken: readonly (readonly number[])[];
  klPerToken: readonly (readonly number[])[];
  entropyPerToken: readonly (readonly number[])[];
  learnerVersion: number;
}): TrajectoryRecord[] {
  const records: TrajectoryRecord[] = [];
  for (const group of options.groups) {
    for (const trajectory of group.trajectories) {
      const index = records.length;
      const mask = trajectory.lossMask;
      records.push({
        trajectoryId: trajectory.id,
        groupId: group.groupId,
        scenarioId: trajectory.scenarioId,
        policyVersion: trajectory.policyVersion,
        learnerVersion: options.learnerVersion,
        tokenIds: [...trajectory.tokenIds],
        lossMask: [...mask],
        behaviorLogProbsPerToken: [...trajectory.behaviorLogProbs],
        advantagesPerToken: (options.advantagesPerToken[index] ?? []).map((value, position) =>
          mask[position] === 1 ? value : 0,
        ),
        klPerToken: [...(options.klPerToken[index] ?? [])],
        entropyPerToken: [...(options.entropyPerToken[index] ?? [])],
        rewardsPerTurn: [...trajectory.rewardsPerTurn],
        rewardsByFunction: { ...trajectory.rewardsByFunction },
        totalReward: trajectory.totalReward,
        shapedReturn: options.returns[index]!,
        endReason: trajectory.endReason,
        truncated: trajectory.truncated,
      });
    }
  }
  return records;
}
