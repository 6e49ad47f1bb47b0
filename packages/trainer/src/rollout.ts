import {
  type EndReason,
  type Environment,
  type Episode,
  type GenerationOptions,
  InvalidArgumentError,
  type Message,
  type Policy,
  Random,
  type Scenario,
  type ToolCallRecord,
  type Trajectory,
  type TrajectoryGroup,
  type Turn,
} from '@cohort/core';
import { ConversationTokens } from './conversation-tokens';
import {
  type RewardFailure,
  type ScenarioLike,
  scoreEpisodeRewards,
  scoreRewardFunctions,
  type WeightedReward,
} from './reward-scoring-stage';

/** Options of {@link rolloutGroups}. */
export interface RolloutOptions<S extends ScenarioLike = Scenario> {
  policy: Policy;
  environment: Environment<S>;
  /** One scenario per group; each gets `groupSize` episodes. */
  scenarios: readonly S[];
  groupSize: number;
  /** Seed of this batch; episode seeds and sampling seeds derive from it. */
  seed: number;
  generation: GenerationOptions;
  rewards: readonly WeightedReward<S>[];
  systemPrompt?: string;
  /** Longest conversation in tokens (the model's context); an episode that would exceed it ends with `length`. */
  maxSequenceLength: number;
  /** Label for trajectory ids, usually the step number. */
  label: string;
}

/** What {@link rolloutGroups} returns. */
export interface RolloutResult {
  groups: TrajectoryGroup[];
  rewardFailures: RewardFailure[];
  /** Tokens the policy sampled. */
  sampledTokenCount: number;
  /** Seconds spent in `policy.sample`, in the environment, and in rewards. */
  timings: { sampling: number; environment: number; rewards: number };
}

interface RunningEpisode<S> {
  id: string;
  scenario: S;
  seed: number;
  episode: Episode;
  tokens: ConversationTokens;
  turns: Turn[];
  rewardsPerTurn: number[];
  /** Tool calls of the episode; undefined until the environment reports one. */
  toolCalls?: ToolCallRecord[];
  /** Sum over turns of each turn-scoped reward function's (unweighted) score; null when every turn failed. */
  turnRewardSums: Record<string, number | null>;
  done: boolean;
  endReason: EndReason;
  truncated: boolean;
}

function elapsedSeconds(start: number): number {
  return (performance.now() - start) / 1000;
}

/**
 * Rollout collection then reward scoring: {@link collectEpisodes}, then
 * {@link scoreEpisodeRewards} on its groups.
 *
 * The total reward of an episode is the sum of its per-turn rewards (the
 * environment's turn reward plus the weighted turn-scoped reward functions)
 * and the weighted episode-scoped reward functions. A reward function that
 * throws or returns a non-finite value counts as `null` and is reported in
 * `rewardFailures`. The episode-scoped rewards of a group's G episodes are
 * scored concurrently, so a reward that waits on the whole group (a person
 * who rates the G replies side by side) is asked for all G at once.
 */
export async function rolloutGroups<S extends ScenarioLike>(
  options: RolloutOptions<S>,
): Promise<RolloutResult> {
  const collected = await collectEpisodes(options);
  const scored = await scoreEpisodeRewards({
    groups: collected.groups,
    scenarios: options.scenarios,
    rewards: options.rewards,
  });
  return {
    ...collected,
    groups: scored.groups,
    rewardFailures: [...collected.rewardFailures, ...scored.failures],
    timings: { ...collected.timings, rewards: collected.timings.rewards + scored.seconds },
  };
}

/**
 * The rollout-collection part of {@link rolloutGroups}: runs `groupSize`
 * multi-turn episodes for each scenario with the policy, batching every
 * active episode's next agent turn into one `policy.sample` call, and returns
 * one serializable trajectory per episode. Turn-scoped reward functions run
 * as each turn ends (they see the conversation as it was then); each
 * trajectory's `totalReward` is the sum of its per-turn rewards, and the
 * episode-scoped functions are left to {@link scoreEpisodeRewards}.
 */
export async function collectEpisodes<S extends ScenarioLike>(
  options: RolloutOptions<S>,
): Promise<RolloutResult> {
  if (!Number.isInteger(options.groupSize) || options.groupSize < 1) {
    throw new InvalidArgumentError({
      argument: 'groupSize',
      value: options.groupSize,
      message: 'must be an integer >= 1',
    });
  }
  const random = new Random(options.seed);
  const samplingRandom = random.fork('sampling');
  const tokenizer = options.policy.tokenizer;
  const timings = { sampling: 0, environment: 0, rewards: 0 };
  const failures: RewardFailure[] = [];
  let sampledTokenCount = 0;

  const running: RunningEpisode<S>[] = [];
  let environmentStart = performance.now();
  for (let groupIndex = 0; groupIndex < options.scenarios.length; groupIndex++) {
    const scenario = options.scenarios[groupIndex]!;
    for (let sampleIndex = 0; sampleIndex < options.groupSize; sampleIndex++) {
      const seed = random.nextUint32();
      const episode = await options.environment.reset({
        scenario,
        seed,
        ...(options.systemPrompt === undefined ? {} : { systemPrompt: options.systemPrompt }),
      });
      const tokens = new ConversationTokens(tokenizer, episode.messages);
      const turns: Turn[] = [];
      let cursor = 0;
      for (const message of episode.messages) {
        const rendered = tokenizer.applyChatTemplate(episode.messages.slice(0, turns.length + 1), {
          addGenerationPrompt: false,
        }).length;
        turns.push({ ...message, tokenStart: cursor, tokenEnd: rendered, reward: null });
        cursor = rendered;
      }
      running.push({
        id: `${options.label}-${groupIndex}-${sampleIndex}`,
        scenario,
        seed,
        episode,
        tokens,
        turns,
        rewardsPerTurn: [],
        turnRewardSums: {},
        done: false,
        endReason: 'turn-limit',
        truncated: false,
      });
    }
  }
  timings.environment += elapsedSeconds(environmentStart);

  for (;;) {
    const active = running.filter((episode) => !episode.done);
    const ready: RunningEpisode<S>[] = [];
    for (const episode of active) {
      if (
        episode.tokens.tokenIds.length +
          options.generation.maxNewTokens +
          episode.tokens.closingLength() >
        options.maxSequenceLength
      ) {
        // Only an opening prompt can get here: later turns are checked when the user speaks.
        episode.tokens.truncate(options.maxSequenceLength);
        episode.done = true;
        episode.endReason = 'length';
      } else {
        ready.push(episode);
      }
    }
    if (ready.length === 0) break;

    const samplingStart = performance.now();
    const completions = await options.policy.sample({
      ...options.generation,
      prompts: ready.map((episode) => episode.tokens.prompt()),
      groupSize: 1,
      seed: samplingRandom.nextUint32(),
    });
    timings.sampling += elapsedSeconds(samplingStart);

    for (const completion of completions) {
      const episode = ready[completion.promptIndex]!;
      sampledTokenCount += completion.tokenIds.length;
      const text = tokenizer.decode(completion.tokenIds, { skipSpecialTokens: true }).trim();
      const [start, end] = episode.tokens.appendAgentTurn({
        sampledTokenIds: completion.tokenIds,
        logProbsPerToken: completion.logProbsPerToken,
        text,
      });
      const turnIndex = episode.rewardsPerTurn.length;
      if (completion.finishReason === 'length') episode.truncated = true;
      environmentStart = performance.now();
      const result = await episode.episode.step(text);
      timings.environment += elapsedSeconds(environmentStart);
      const rewardStart = performance.now();
      const turnRewards = await scoreRewardFunctions({
        rewards: options.rewards,
        scope: 'turn',
        context: {
          scenario: episode.scenario,
          messages: episode.episode.messages,
          completion: text,
          turnIndex,
          done: result.done,
          ...(result.endReason === undefined ? {} : { endReason: result.endReason }),
          completionTokenCount: completion.tokenIds.length,
          finishReason: completion.finishReason,
        },
        trajectoryId: episode.id,
        failures,
      });
      timings.rewards += elapsedSeconds(rewardStart);
      for (const [name, value] of Object.entries(turnRewards.byName)) {
        const sum = episode.turnRewardSums[name] ?? null;
        episode.turnRewardSums[name] = value === null ? sum : (sum ?? 0) + value;
      }
      const turnReward = result.reward + turnRewards.total;
      episode.rewardsPerTurn.push(turnReward);
      episode.turns.push({
        role: 'assistant',
        content: text,
        tokenStart: start,
        tokenEnd: end,
        reward: turnReward,
        finishReason: completion.finishReason,
      });
      if (result.toolCalls !== undefined) {
        episode.toolCalls = [...(episode.toolCalls ?? []), ...result.toolCalls];
      }
      // What the agent observes next: its tool calls' results (and it speaks again), or the user's reply.
      const observation: Message[] | undefined = result.done
        ? undefined
        : result.toolMessages !== undefined && result.toolMessages.length > 0
          ? result.toolMessages
          : result.userMessage === undefined
            ? undefined
            : [{ role: 'user', content: result.userMessage }];
      if (observation === undefined) {
        episode.done = true;
        episode.endReason = result.endReason ?? 'turn-limit';
      } else {
        const [observationStart, observationEnd] = episode.tokens.appendObservation(observation);
        if (
          observationEnd + options.generation.maxNewTokens + episode.tokens.closingLength() >
          options.maxSequenceLength
        ) {
          // The next agent turn and the template ids after it would not fit: end here, without the observation.
          episode.tokens.truncate(observationStart);
          episode.done = true;
          episode.endReason = 'length';
          continue;
        }
        episode.turns.push({
          role: observation[0]!.role === 'tool' ? 'tool' : 'user',
          content: observation.map((message) => message.content).join('\n'),
          tokenStart: observationStart,
          tokenEnd: observationEnd,
          reward: null,
        });
      }
    }
  }

  const groups: TrajectoryGroup[] = [];
  for (let groupIndex = 0; groupIndex < options.scenarios.length; groupIndex++) {
    const scenario = options.scenarios[groupIndex]!;
    const trajectories: Trajectory[] = [];
    for (let sampleIndex = 0; sampleIndex < options.groupSize; sampleIndex++) {
      const episode = running[groupIndex * options.groupSize + sampleIndex]!;
      const perTurnTotal = episode.rewardsPerTurn.reduce((sum, value) => sum + value, 0);
      trajectories.push({
        id: episode.id,
        scenarioId: scenario.id,
        seed: episode.seed,
        policyVersion: options.policy.version,
        messages: [...episode.episode.messages],
        turns: episode.turns,
        tokenIds: episode.tokens.tokenIds,
        lossMask: episode.tokens.lossMask,
        behaviorLogProbs: episode.tokens.behaviorLogProbs,
        rewardsPerTurn: episode.rewardsPerTurn,
        rewardsByFunction: { ...episode.turnRewardSums },
        totalReward: perTurnTotal,
        endReason: episode.endReason,
        truncated: episode.truncated,
        temperature: options.generation.temperature ?? 1,
        ...(episode.toolCalls === undefined ? {} : { toolCalls: episode.toolCalls }),
      });
    }
    groups.push({
      groupId: `${options.label}-${groupIndex}`,
      scenarioId: scenario.id,
      trajectories,
    });
  }
  return { groups, rewardFailures: failures, sampledTokenCount, timings };
}
