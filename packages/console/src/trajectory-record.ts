import type { Trajectory } from '@cohort/core';
import { InvalidArgumentError } from '@cohort/core';

/** One sampled token of an agent turn and what the run knows about it. */
export interface TrajectoryTokenRecord {
  id: number;
  /** The token decoded on its own (a piece of a multi-byte character may show as U+FFFD). */
  text: string;
  /** log pi(token) under the policy that sampled it. */
  logProb?: number;
  advantage?: number;
  /** Per-token KL estimate to the reference. */
  kl?: number;
  /** Entropy of the policy's distribution at this position. */
  entropy?: number;
}

/** One turn of a conversation in `trajectories.jsonl`; agent turns carry their tokens. */
export interface TrajectoryTurnRecord {
  role: string;
  content: string;
  reward?: number | null;
  finishReason?: string;
  tokens?: TrajectoryTokenRecord[];
}

/** One line of `trajectories.jsonl`: a training rollout as the trajectory viewer shows it. */
export interface TrajectoryLine {
  kind: 'trajectory';
  step: number;
  id: string;
  groupId: string;
  scenarioId: string;
  policyVersion: number;
  totalReward: number;
  rewardsByFunction: Record<string, number | null>;
  endReason: string;
  truncated: boolean;
  turns: TrajectoryTurnRecord[];
}

/** Per-token values a trainer may know beyond the behaviour log-probs, each over all of `tokenIds`. */
export interface PerTokenValues {
  advantagesPerToken?: readonly number[];
  klPerToken?: readonly number[];
  entropyPerToken?: readonly number[];
}

/**
 * Turns a rollout record into a line of `trajectories.jsonl`: each turn with
 * its text, and each agent turn with its sampled tokens (the ids kept as
 * sampled, each decoded on its own by `decodeToken`), their behaviour
 * log-probabilities, and the advantages, KL and entropy per token when the
 * trainer supplies them. `significantDigits` rounds the per-token numbers
 * (a log written every step stays small: 4 digits is what a hover shows);
 * without it they are kept in full.
 *
 * @example
 * ```ts
 * const line = trajectoryLine({ step: 3, groupId: group.groupId, trajectory,
 *   decodeToken: (id) => tokenizer.decode([id]) });
 * ```
 */
export function trajectoryLine(options: {
  step: number;
  groupId: string;
  trajectory: Trajectory;
  decodeToken: (id: number) => string;
  perToken?: PerTokenValues;
  significantDigits?: number;
}): TrajectoryLine {
  const { trajectory, perToken = {}, significantDigits } = options;
  if (
    significantDigits !== undefined &&
    !(Number.isInteger(significantDigits) && significantDigits >= 1 && significantDigits <= 17)
  ) {
    throw new InvalidArgumentError({
      argument: 'significantDigits',
      value: significantDigits,
      message: 'must be an integer in [1, 17]',
    });
  }
  const round =
    significantDigits === undefined
      ? (value: number) => value
      : (value: number) => Number(value.toPrecision(significantDigits));
  const length = trajectory.tokenIds.length;
  for (const [name, values] of Object.entries(perToken)) {
    if (values !== undefined && values.length !== length) {
      throw new InvalidArgumentError({
        argument: `perToken.${name}.length`,
        value: values.length,
        message: `must equal tokenIds.length = ${length}`,
      });
    }
  }
  const turns: TrajectoryTurnRecord[] = trajectory.turns.map((turn) => {
    const record: TrajectoryTurnRecord = {
      role: turn.role,
      content: turn.content,
      reward: turn.reward,
      ...(turn.finishReason ? { finishReason: turn.finishReason } : {}),
    };
    if (turn.role !== 'assistant') return record;
    const tokens: TrajectoryTokenRecord[] = [];
    for (let index = turn.tokenStart; index < turn.tokenEnd; index++) {
      if (trajectory.lossMask[index] !== 1) continue;
      const id = trajectory.tokenIds[index]!;
      tokens.push({
        id,
        text: options.decodeToken(id),
        logProb: round(trajectory.behaviorLogProbs[index]!),
        ...(perToken.advantagesPerToken
          ? { advantage: round(perToken.advantagesPerToken[index]!) }
          : {}),
        ...(perToken.klPerToken ? { kl: round(perToken.klPerToken[index]!) } : {}),
        ...(perToken.entropyPerToken ? { entropy: round(perToken.entropyPerToken[index]!) } : {}),
      });
    }
    record.tokens = tokens;
    return record;
  });
  return {
    kind: 'trajectory',
    step: options.step,
    id: trajectory.id,
    groupId: options.groupId,
    scenarioId: trajectory.scenarioId,
    policyVersion: trajectory.policyVersion,
    totalReward: trajectory.totalReward,
    rewardsByFunction: trajectory.rewardsByFunction,
    endReason: trajectory.endReason,
    truncated: trajectory.truncated,
    turns,
  };
}
