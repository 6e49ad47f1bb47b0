import { InvalidArgumentError, type Trajectory } from '@cohort/core';
import { replyDiversity } from './reply-diversity';

/** What a policy did at one point of a run: the input of {@link detectDegeneratePolicy}. */
export interface PolicySnapshot {
  step: number;
  /** Mean total reward of the episodes. */
  meanReward: number;
  /** Share of episodes that succeeded by the task's own check; null when the task has none. */
  successRate: number | null;
  /** Mean tool calls per episode. */
  toolCallsPerEpisode: number;
  /** Every agent reply of the episodes, as text. */
  agentReplies: readonly string[];
  /**
   * Episodes with at least 3 agent replies (`episodes`), and the share of
   * them in which one reply makes up more than half of the agent's replies
   * (`share`): a policy that says the same thing turn after turn, which the
   * share over all replies misses when each episode repeats a different one.
   */
  repeatingEpisodes?: { share: number; episodes: number };
}

/** One sign of a degenerate policy, with the numbers that raised it. */
export interface DegenerationFlag {
  kind:
    | 'repeated-reply'
    | 'repeated-within-episode'
    | 'tool-calls-dropped'
    | 'success-falling-reward-rising';
  message: string;
  /** The measured numbers (shares, means before and after). */
  values: Record<string, number>;
}

/** Thresholds of {@link detectDegeneratePolicy}. */
export interface DetectDegeneratePolicyOptions {
  /** Share of the latest replies that one reply may take before it is flagged (default 0.5). */
  maxRepeatedShare?: number;
  /** Fewest replies in the latest snapshot for the repetition check (default 8). */
  minReplies?: number;
  /** Share of the latest snapshot's episodes that may repeat one reply before it is flagged (default 0.5). */
  maxRepeatingEpisodeShare?: number;
  /** Fewest episodes with at least 3 agent replies for the within-episode check (default 4). */
  minRepeatingEpisodes?: number;
  /** Tool calls are flagged as dropped when the late mean is at most this fraction of the early mean (default 0.5). */
  toolCallDropFraction?: number;
  /** Reward rise and success fall, early to late, that flag a reward the policy games (defaults 0.05 and 0.05). */
  minRewardRise?: number;
  minSuccessDrop?: number;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * Summarizes a step's trajectories as a {@link PolicySnapshot}: mean reward,
 * success rate (`endReason === 'success'`, the task's own check), tool calls
 * per episode and the agent's replies.
 */
export function policySnapshot(step: number, trajectories: readonly Trajectory[]): PolicySnapshot {
  if (trajectories.length === 0) {
    throw new InvalidArgumentError({
      argument: 'trajectories',
      value: trajectories,
      message: 'must not be empty',
    });
  }
  const replies = trajectories.map((trajectory) =>
    trajectory.messages
      .filter((message) => message.role === 'assistant')
      .map((message) => message.content),
  );
  const long = replies.filter((episode) => episode.length >= 3);
  const repeating = long.filter((episode) => replyDiversity(episode).topReplyShare > 0.5).length;
  return {
    step,
    meanReward: mean(trajectories.map((trajectory) => trajectory.totalReward)),
    successRate: mean(
      trajectories.map((trajectory) => (trajectory.endReason === 'success' ? 1 : 0)),
    ),
    toolCallsPerEpisode: mean(trajectories.map((trajectory) => trajectory.toolCalls?.length ?? 0)),
    agentReplies: replies.flat(),
    repeatingEpisodes: {
      share: long.length === 0 ? 0 : repeating / long.length,
      episodes: long.length,
    },
  };
}

/**
 * Flags the ways a policy learns to game its reward instead of doing the task,
 * from snapshots of a run in step order:
 * - `repeated-reply`: in the latest snapshot one reply (case and spacing
 *   ignored) makes up more than `maxRepeatedShare` of the agent's replies;
 * - `repeated-within-episode`: in the latest snapshot, more than
 *   `maxRepeatingEpisodeShare` of the episodes with at least 3 agent replies
 *   repeat one reply in more than half of their turns;
 * - `tool-calls-dropped`: the mean tool calls per episode of the last third of
 *   the snapshots is at most `toolCallDropFraction` of the first third's (and
 *   the first third used tools);
 * - `success-falling-reward-rising`: from the first third to the last, the
 *   mean reward rose by at least `minRewardRise` while the success rate fell
 *   by at least `minSuccessDrop`.
 * Early and late windows need at least three snapshots; with fewer only the
 * repetition check runs. Pure: the report and the console call it on the
 * metrics they already have.
 *
 * @example
 * ```ts
 * const flags = detectDegeneratePolicy(history.map(({ step, trajectories }) => policySnapshot(step, trajectories)));
 * for (const flag of flags) console.warn(flag.message);
 * ```
 */
export function detectDegeneratePolicy(
  history: readonly PolicySnapshot[],
  options: DetectDegeneratePolicyOptions = {},
): DegenerationFlag[] {
  const maxRepeatedShare = options.maxRepeatedShare ?? 0.5;
  const minReplies = options.minReplies ?? 8;
  const dropFraction = options.toolCallDropFraction ?? 0.5;
  const minRewardRise = options.minRewardRise ?? 0.05;
  const minSuccessDrop = options.minSuccessDrop ?? 0.05;
  const maxRepeatingEpisodeShare = options.maxRepeatingEpisodeShare ?? 0.5;
  const minRepeatingEpisodes = options.minRepeatingEpisodes ?? 4;
  const flags: DegenerationFlag[] = [];
  const latest = history.at(-1);
  if (latest && latest.agentReplies.length >= minReplies) {
    const diversity = replyDiversity(latest.agentReplies);
    const share = diversity.topReplyShare;
    if (share > maxRepeatedShare) {
      flags.push({
        kind: 'repeated-reply',
        message: `one reply makes up ${(share * 100).toFixed(0)}% of the agent's replies at step ${latest.step}: "${diversity.topReply.slice(0, 80)}" (distinct-2 ${diversity.distinct2.toFixed(2)})`,
        values: { share, replies: latest.agentReplies.length, distinct2: diversity.distinct2 },
      });
    }
  }
  const repeatingEpisodes = latest?.repeatingEpisodes;
  if (
    repeatingEpisodes &&
    repeatingEpisodes.episodes >= minRepeatingEpisodes &&
    repeatingEpisodes.share > maxRepeatingEpisodeShare
  ) {
    flags.push({
      kind: 'repeated-within-episode',
      message: `${(repeatingEpisodes.share * 100).toFixed(0)}% of the ${repeatingEpisodes.episodes} episodes of step ${latest.step} with 3 or more agent replies repeat one reply in most of their turns`,
      values: { ...repeatingEpisodes },
    });
  }
  if (history.length >= 3) {
    const third = Math.max(1, Math.floor(history.length / 3));
    const early = history.slice(0, third);
    const late = history.slice(-third);
    const toolsBefore = mean(early.map((item) => item.toolCallsPerEpisode));
    const toolsAfter = mean(late.map((item) => item.toolCallsPerEpisode));
    if (toolsBefore > 0 && toolsAfter <= dropFraction * toolsBefore) {
      flags.push({
        kind: 'tool-calls-dropped',
        message: `tool calls per episode fell from ${toolsBefore.toFixed(2)} to ${toolsAfter.toFixed(2)}`,
        values: { before: toolsBefore, after: toolsAfter },
      });
    }
    const successEarly = early.map((item) => item.successRate).filter((value) => value !== null);
    const successLate = late.map((item) => item.successRate).filter((value) => value !== null);
    if (successEarly.length > 0 && successLate.length > 0) {
      const rewardRise =
        mean(late.map((item) => item.meanReward)) - mean(early.map((item) => item.meanReward));
      const successDrop = mean(successEarly) - mean(successLate);
      if (rewardRise >= minRewardRise && successDrop >= minSuccessDrop) {
        flags.push({
          kind: 'success-falling-reward-rising',
          message: `reward rose by ${rewardRise.toFixed(3)} while task success fell by ${successDrop.toFixed(3)}: the reward is being gamed`,
          values: { rewardRise, successDrop },
        });
      }
    }
  }
  return flags;
}
