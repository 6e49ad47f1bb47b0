import type { Environment, Random, TrajectoryGroup } from '@cohort/core';
import {
  type RewardFailure,
  type ScenarioLike,
  scoreEpisodeRewards,
  type WeightedReward,
} from './reward-scoring-stage';
import { collectEpisodes, type RolloutOptions } from './rollout';
import type { TrainablePolicy } from './trainable-policy';

/** What the rollout-collection stage hands on: scored groups and how they were gathered. */
export interface RolloutCollection {
  /** Groups kept for learning; every trajectory carries the policy version that sampled it. */
  groups: TrajectoryGroup[];
  /** Episodes run, kept or dropped. */
  episodes: number;
  /** Fraction of the groups seen whose returns had no spread (no group-relative signal). */
  zeroSpreadGroupFraction: number;
  /** Zero-spread groups dropped by dynamic sampling. */
  droppedGroups: number;
  /** Extra rollout rounds run to refill dropped groups. */
  refills: number;
  sampledTokens: number;
  /** Seconds in sampling and the environment (`rollout`) and in reward functions (`scoring`). */
  timings: { rollout: number; scoring: number };
  failures: RewardFailure[];
  /** Episodes dropped by the source because they were sampled too many versions ago (sources that see episodes, such as the gateway). */
  staleEpisodes?: number;
  /** Episodes the source gave up on because their reward never came. */
  timedOutEpisodes?: number;
  /** Groups the source dropped because they were sampled too many versions ago (sources that see groups, such as a transport). */
  staleGroups?: number;
}

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
}): { kept: TrajectoryGroup[]; refused: TrajectoryGroup[] } {
  const kept: TrajectoryGroup[] = [];
  const refused: TrajectoryGroup[] = [];
  for (const group of options.groups) {
    const fresh = group.trajectories.every(
      (trajectory) => options.currentVersion - trajectory.policyVersion <= options.maxPolicyLag,
    );
    (fresh ? kept : refused).push(group);
  }
  return { kept, refused };
}
