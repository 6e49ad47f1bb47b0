import type {
  RewardContext,
  RewardFailure,
  RewardFunction,
  Scenario,
  ScenarioLike,
  Trajectory,
  TrajectoryGroup,
} from '@cohort/core';

export type { RewardFailure, ScenarioLike } from '@cohort/core';

/** A reward function with its weight in the total reward. */
export interface WeightedReward<S extends ScenarioLike = Scenario> {
  reward: RewardFunction<S>;
  weight: number;
}

/**
 * One reward function's score of one trajectory: the typed record behind
 * `Trajectory.rewardsByFunction`. A turn-scoped function's score is its sum
 * over the agent's turns; `null` where it failed on every call.
 */
export interface RewardRecord {
  trajectoryId: string;
  rewardName: string;
  scope: 'turn' | 'episode';
  weight: number;
  score: number | null;
}

/** Scores of the reward functions of one scope, unweighted by name, and their weighted sum. */
export interface ScopeScores {
  /** `sum_f weight_f * score_f` over the functions that gave a score. */
  total: number;
  byName: Record<string, number | null>;
}

/**
 * Calls every reward function of `scope` on `context`. A function that throws
 * or returns a non-finite value scores `null`, is left out of the total and is
 * reported in `failures`; one bad reward never ends a run.
 */
export async function scoreRewardFunctions<S extends ScenarioLike>(options: {
  rewards: readonly WeightedReward<S>[];
  scope: 'turn' | 'episode';
  context: RewardContext<S>;
  trajectoryId: string;
  failures: RewardFailure[];
}): Promise<ScopeScores> {
  let total = 0;
  const byName: Record<string, number | null> = {};
  for (const { reward, weight } of options.rewards) {
    if ((reward.scope ?? 'episode') !== options.scope) continue;
    let value: number | null;
    try {
      value = await reward.score(options.context);
      if (value !== null && !Number.isFinite(value)) {
        throw new Error(`returned ${value}, which is not finite`);
      }
    } catch (error) {
      options.failures.push({
        rewardName: reward.name,
        trajectoryId: options.trajectoryId,
        message: error instanceof Error ? error.message : String(error),
      });
      value = null;
    }
    byName[reward.name] = value;
    if (value !== null) total += weight * value;
  }
  return { total, byName };
}

/** Options of {@link scoreEpisodeRewards}. */
export interface ScoreEpisodeRewardsOptions<S extends ScenarioLike> {
  /**
   * Collected groups: each trajectory's `totalReward` is the sum of its
   * per-turn rewards and `rewardsByFunction` holds the turn-scoped functions'
   * sums (what {@link collectEpisodes} returns).
   */
  groups: readonly TrajectoryGroup[];
  /** The scenario of each group, in the same order. */
  scenarios: readonly S[];
  rewards: readonly WeightedReward<S>[];
}

/** What the reward-scoring stage hands on. */
export interface RewardScoring {
  /** The groups with every reward function scored and `totalReward` the episode's return. */
  groups: TrajectoryGroup[];
  /** Every function's score of every trajectory, turn- and episode-scoped. */
  records: RewardRecord[];
  failures: RewardFailure[];
  /** Seconds spent in the episode-scoped reward functions. */
  seconds: number;
}

function lastAgentTurn(trajectory: Trajectory) {
  for (let index = trajectory.turns.length - 1; index >= 0; index--) {
    const turn = trajectory.turns[index]!;
    // A sampled turn has a finish reason; an assistant message of the opening prompt has none.
    if (turn.role === 'assistant' && turn.finishReason !== undefined) return turn;
  }
  return undefined;
}

/**
 * The reward-scoring stage: scores each collected trajectory with the
 * episode-scoped reward functions, on the finished conversation and its last
 * agent turn, and adds their weighted sum to the return:
 * `R = sum_t r_t + sum_f w_f * score_f` (per-turn rewards from collection,
 * where the turn-scoped functions ran as each turn ended).
 *
 * @example
 * ```ts
 * const collected = await collectEpisodes({ policy, environment, scenarios, groupSize: 4, ... });
 * const scored = await scoreEpisodeRewards({ groups: collected.groups, scenarios, rewards });
 * scored.groups[0]!.trajectories[0]!.totalReward;
 * ```
 */
export async function scoreEpisodeRewards<S extends ScenarioLike>(
  options: ScoreEpisodeRewardsOptions<S>,
): Promise<RewardScoring> {
  const failures: RewardFailure[] = [];
  const records: RewardRecord[] = [];
  const weights = new Map(
    options.rewards.map(({ reward, weight }) => [reward.name, { weight, scope: reward.scope }]),
  );
  let seconds = 0;
  const groups = [];
  for (let groupIndex = 0; groupIndex < options.groups.length; groupIndex++) {
    const group = options.groups[groupIndex]!;
    const scenario = options.scenarios[groupIndex]!;
    const trajectories: Trajectory[] = [];
    // The G episodes of a group are scored at once: a reward that waits (a judge model, a
    // person shown the whole group) sees them together. Failures keep the episodes' order.
    const start = performance.now();
    const failuresPerEpisode = group.trajectories.map((): RewardFailure[] => []);
    const scoredEpisodes = await Promise.all(
      group.trajectories.map((trajectory, sampleIndex) => {
        const last = lastAgentTurn(trajectory);
        return scoreRewardFunctions({
          rewards: options.rewards,
          scope: 'episode',
          context: {
            scenario,
            messages: trajectory.messages,
            completion: last?.content ?? '',
            turnIndex: Math.max(0, trajectory.rewardsPerTurn.length - 1),
            done: true,
            // Gateway episodes end `external`, which a reward context does not name.
            ...(trajectory.endReason === 'external' ? {} : { endReason: trajectory.endReason }),
            // An agent turn's token span holds exactly the ids it sampled.
            completionTokenCount: last === undefined ? 0 : last.tokenEnd - last.tokenStart,
            ...(last?.finishReason === undefined ? {} : { finishReason: last.finishReason }),
          },
          trajectoryId: trajectory.id,
          failures: failuresPerEpisode[sampleIndex]!,
        });
      }),
    );
    for (const episodeFailures of failuresPerEpisode) failures.push(...episodeFailures);
    seconds += (performance.now() - start) / 1000;
    for (const [sampleIndex, trajectory] of group.trajectories.entries()) {
      const episode = scoredEpisodes[sampleIndex]!;
      // Turn-scoped functions report their sum over turns, so every reward shows by name.
      const rewardsByFunction = { ...trajectory.rewardsByFunction, ...episode.byName };
      for (const [rewardName, score] of Object.entries(rewardsByFunction)) {
        const declared = weights.get(rewardName);
        records.push({
          trajectoryId: trajectory.id,
          rewardName,
          scope: declared?.scope ?? 'episode',
          weight: declared?.weight ?? 0,
          score,
        });
      }
      trajectories.push({
        ...trajectory,
        rewardsByFunction,
        totalReward: trajectory.totalReward + episode.total,
      });
    }
    groups.push({ ...group, trajectories });
  }
  return { groups, records, failures, seconds };
}
