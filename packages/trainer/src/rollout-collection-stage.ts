import type {
  Environment,
  GenerationOptions,
  Random,
  RewardFailure,
  RolloutCollection,
  Tokenizer,
  TrajectoryGroup,
} from '@cohort/core';
import {
  type ScenarioLike,
  scoreEpisodeRewards,
  type WeightedReward,
} from './reward-scoring-stage';

export type { RolloutCollection } from '@cohort/core';

import type { GrpoTrainingOptions } from './grpo-training-options';
import { collectEpisodes, type RolloutOptions } from './rollout';
import type { TrainablePolicy } from './trainable-policy';

/** Options of {@link collectRollouts}. */
export interface CollectRolloutsOptions<S extends ScenarioLike> {
  policy: TrainablePolicy;
  environment: Environment<S>;
  rewards: readonly WeightedReward<S>[];
  /** Scenarios to draw from; draws are without replacement while the pool is large enough. */
  scenarioPool: readonly S[];
  /** The trainer's random stream: scenario draws and batch seeds come from it, in that order. */
  random: Random;
  scenariosPerStep: number;
  groupSize: number;
  generation: RolloutOptions<S>['generation'];
  systemPrompt?: string;
  maxSequenceLength: number;
  /** Groups whose returns spread by at most this count as zero-spread. */
  zeroSpreadTolerance: number;
  /** Dynamic sampling (DAPO): drop zero-spread groups and roll out again, at most `maxRefills` times. */
  dynamicSampling: { enabled: boolean; maxRefills: number };
  /** Prefix of trajectory ids, e.g. `s12`. */
  label: string;
}

function drawScenarios<S>(random: Random, pool: readonly S[], count: number): S[] {
  if (count <= pool.length) return random.sample(pool, count);
  return Array.from({ length: count }, () => random.choice(pool));
}

/**
 * The rollout-collection stage: scenarios in, groups of G scored
 * trajectories out ({@link collectEpisodes}, then the reward-scoring stage,
 * {@link scoreEpisodeRewards}). Under dynamic sampling (DAPO, Yu et al. 2025, eq. 11)
 * a group whose returns all agree is dropped and replaced by a new rollout
 * round, up to `maxRefills` rounds.
 *
 * @example
 * ```ts
 * const collection = await collectRollouts({ policy, environment, rewards, scenarioPool, random,
 *   scenariosPerStep: 4, groupSize: 8, generation, maxSequenceLength: 256, zeroSpreadTolerance: 0,
 *   dynamicSampling: { enabled: false, maxRefills: 0 }, label: 's0' });
 * ```
 */
export async function collectRollouts<S extends ScenarioLike>(
  options: CollectRolloutsOptions<S>,
): Promise<RolloutCollection> {
  const { scenariosPerStep, groupSize, dynamicSampling } = options;
  const kept: TrajectoryGroup[] = [];
  const failures: RewardFailure[] = [];
  let episodes = 0;
  let droppedGroups = 0;
  let seenGroups = 0;
  let zeroSpreadGroups = 0;
  let refills = 0;
  let sampledTokens = 0;
  const timings = { rollout: 0, scoring: 0 };
  for (let round = 0; ; round++) {
    const scenarios = drawScenarios(
      options.random,
      options.scenarioPool,
      scenariosPerStep - kept.length,
    );
    const collected = await collectEpisodes({
      policy: options.policy,
      environment: options.environment,
      scenarios,
      groupSize,
      seed: options.random.nextUint32(),
      generation: options.generation,
      rewards: options.rewards,
      ...(options.systemPrompt === undefined ? {} : { systemPrompt: options.systemPrompt }),
      maxSequenceLength: options.maxSequenceLength,
      label: `${options.label}r${round}`,
    });
    // Reward scoring: the episode-scoped functions, before zero-spread groups are judged.
    const scored = await scoreEpisodeRewards({
      groups: collected.groups,
      scenarios,
      rewards: options.rewards,
    });
    failures.push(...collected.rewardFailures, ...scored.failures);
    sampledTokens += collected.sampledTokenCount;
    timings.rollout += collected.timings.sampling + collected.timings.environment;
    timings.scoring += collected.timings.rewards + scored.seconds;
    episodes += scored.groups.length * groupSize;
    for (const group of scored.groups) {
      seenGroups++;
      const totals = group.trajectories.map((trajectory) => trajectory.totalReward);
      const zeroSpread = Math.max(...totals) - Math.min(...totals) <= options.zeroSpreadTolerance;
      if (zeroSpread) zeroSpreadGroups++;
      if (zeroSpread && dynamicSampling.enabled) droppedGroups++;
      else kept.push(group);
    }
    if (
      !dynamicSampling.enabled ||
      kept.length >= scenariosPerStep ||
      round >= dynamicSampling.maxRefills
    )
      break;
    refills++;
  }
  return {
    groups: kept,
    episodes,
    zeroSpreadGroupFraction: seenGroups === 0 ? 0 : zeroSpreadGroups / seenGroups,
    droppedGroups,
    refills,
    sampledTokens,
    timings,
    failures,
  };
}

/**
 * The staleness bound on rollout records: a group is kept only when every
 * trajectory in it was sampled at most `maxPolicyLag` weight versions before
 * `currentVersion`; older ones are refused, never silently mixed in.
 *
 * @example
 * ```ts
 * const { kept, refused } = refuseStaleGroups({ groups, currentVersion: policy.version, maxPolicyLag: 1 });
 * ```
 */
export function refuseStaleGroups(options: {
  groups: readonly TrajectoryGroup[];
  currentVersion: number;
  maxPolicyLag: number;
  /** Told how many groups were refused, when any were. */
  warn?: (message: string) => void;
}): { kept: TrajectoryGroup[]; refused: TrajectoryGroup[] } {
  const kept: TrajectoryGroup[] = [];
  const refused: TrajectoryGroup[] = [];
  for (const group of options.groups) {
    const fresh = group.trajectories.every(
      (trajectory) => options.currentVersion - trajectory.policyVersion <= options.maxPolicyLag,
    );
    (fresh ? kept : refused).push(group);
  }
  if (refused.length > 0) {
    options.warn?.(
      `refused ${refused.length} groups sampled more than ${options.maxPolicyLag} versions ago`,
    );
  }
  return { kept, refused };
}

/**
 * The decoding settings of rollouts: the config's, at `temperature` (the
 * config's by default), stopping at the end of the agent's turn (or at EOS
 * for a tokenizer without one).
 *
 * @example
 * ```ts
 * const generation = rolloutGeneration({ generation: config.generation, tokenizer: policy.tokenizer });
 * ```
 */
export function rolloutGeneration(options: {
  generation: GrpoTrainingOptions['generation'];
  tokenizer: Tokenizer;
  temperature?: number;
}): GenerationOptions {
  const { generation, tokenizer } = options;
  return {
    maxNewTokens: generation.maxNewTokens,
    temperature: options.temperature ?? generation.temperature,
    topK: generation.topK,
    topP: generation.topP,
    stopTokenIds: [tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId],
  };
}
