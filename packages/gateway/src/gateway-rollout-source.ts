import {
  parseWithSchema,
  Random,
  type RolloutCollection,
  type RolloutSource,
  type RolloutSourceRequest,
  type ScenarioLike,
  type Trajectory,
  type TrajectoryGroup,
} from '@cohort/core';
import { episodeTrajectories } from './episode-recorder';
import type { EpisodeTask } from './episode-task';
import {
  type GatewayRolloutSourceOptions,
  GatewayRolloutSourceOptionsSchema,
} from './gateway-rollout-source-options';
import type { RolloutGateway } from './rollout-gateway';

/** What one {@link GatewayRolloutSource.collect} saw beyond the groups it kept. */
export interface GatewayCollectReport {
  step: number;
  /** Groups dropped because some episode never posted its reward in time, with those episodes. */
  timedOutGroups: { groupId: string; scenarioId: string; episodeIds: string[] }[];
  /** Episodes sampled more than `maxPolicyLag` versions before the learner's version: dropped. */
  staleEpisodes: string[];
  /** Episodes that cannot be trained on as one trajectory of their group, with the reason. */
  unusableEpisodes: { episodeId: string; reason: string }[];
}

/** What {@link GatewayRolloutSource.evaluate} measured. */
export interface GatewayEvaluation {
  episodes: number;
  /** Episodes whose scorer posted `success: true`, over every episode offered (timed out counts as failed). */
  successes: number;
  successRate: number;
  /** Mean posted reward over the episodes that posted one. */
  rewardMean: number;
  timedOut: string[];
}

function drawScenarios<S>(random: Random, pool: readonly S[], count: number): S[] {
  if (count <= pool.length) return random.sample(pool, count);
  return Array.from({ length: count }, () => random.choice(pool));
}

function sampledTokenCount(trajectory: Trajectory): number {
  return trajectory.lossMask.reduce<number>((sum, bit) => sum + bit, 0);
}

/**
 * The trainer's rollouts from an agent program that calls a
 * {@link RolloutGateway}: each step offers G tasks per scenario (the same
 * scenario run G times by the agent), waits for their rewards, and hands the
 * episodes on as trajectory groups, so GRPO, PPO and every objective train
 * on them unchanged.
 *
 * A group is kept only whole: every one of its G episodes posted a reward
 * within `groupTimeoutMs`, made one run of calls (one segment), was sampled
 * at the learner's temperature, and at most `maxPolicyLag` versions before
 * the learner's version. Otherwise the group is dropped and the reason is
 * counted in the step's metrics (`staleEpisodes`, `timedOutEpisodes`) and
 * listed in {@link lastReport}.
 *
 * @example
 * ```ts
 * const gateway = await createRolloutGateway({ policy, contextLength: 256 });
 * const rolloutSource = createGatewayRolloutSource({ gateway, groupTimeoutMs: 60_000 });
 * const trainer = new GrpoTrainer({ policy, environment, trainScenarios, rewards: [], rolloutSource });
 * ```
 */
export class GatewayRolloutSource<S extends ScenarioLike> implements RolloutSource<S> {
  readonly kind = 'gateway';
  readonly gateway: RolloutGateway;
  /** The report of the last {@link collect}. */
  lastReport: GatewayCollectReport | undefined;
  private readonly options: ReturnType<typeof GatewayRolloutSourceOptionsSchema.parse>;

  constructor(options: GatewayRolloutSourceOptions & { gateway: RolloutGateway }) {
    const { gateway, ...rest } = options;
    this.gateway = gateway;
    this.options = parseWithSchema(
      GatewayRolloutSourceOptionsSchema,
      rest,
      'gateway rollout source options',
    );
  }

  async collect(request: RolloutSourceRequest<S>): Promise<RolloutCollection> {
    const scenarios = drawScenarios(request.random, request.scenarioPool, request.scenariosPerStep);
    const seeds = new Random(request.random.nextUint32());
    const temperature = request.generation.temperature ?? 1;
    const groups = scenarios.map((scenario, groupIndex) => {
      const groupId = `${request.label}-g${groupIndex}`;
      return {
        groupId,
        scenario,
        tasks: Array.from(
          { length: request.groupSize },
          (_, index): EpisodeTask => ({
            episodeId: `${groupId}-e${index}`,
            groupId,
            scenarioId: scenario.id,
            scenario: JSON.parse(JSON.stringify(scenario)) as unknown,
            seed: seeds.nextUint32(),
            mode: 'train',
            temperature,
            maxTokens: request.generation.maxNewTokens,
            policyVersion: request.currentVersion,
          }),
        ),
      };
    });
    const tasks = groups.flatMap((group) => group.tasks);
    const started = performance.now();
    this.gateway.offerTasks(tasks);
    const waited = await this.gateway.waitForEpisodes(
      tasks.map((task) => task.episodeId),
      { timeoutMs: this.options.groupTimeoutMs },
    );
    this.gateway.withdrawTasks(waited.timedOut);
    const rolloutSeconds = (performance.now() - started) / 1000;
    const timedOut = new Set(waited.timedOut);
    // The learner's version when the groups are handed on: what the staleness bound is measured from.
    const learnerVersion = Math.max(request.currentVersion, this.gateway.policyVersion);
    const report: GatewayCollectReport = {
      step: request.step,
      timedOutGroups: [],
      staleEpisodes: [],
      unusableEpisodes: [],
    };
    const kept: TrajectoryGroup[] = [];
    let zeroSpreadGroups = 0;
    let seenGroups = 0;
    let sampledTokens = 0;
    for (const group of groups) {
      const trajectories: Trajectory[] = [];
      const late = group.tasks.filter((task) => timedOut.has(task.episodeId));
      if (late.length > 0) {
        report.timedOutGroups.push({
          groupId: group.groupId,
          scenarioId: group.scenario.id,
          episodeIds: late.map((task) => task.episodeId),
        });
      }
      for (const task of group.tasks) {
        const episode = this.gateway.episode(task.episodeId);
        if (timedOut.has(task.episodeId) || episode === undefined) continue;
        const episodeTemperature = this.gateway.temperatureOf(task.episodeId) ?? temperature;
        const made = episodeTrajectories({
          episode,
          scenarioId: group.scenario.id,
          seed: task.seed,
          temperature: episodeTemperature,
        });
        const unusable =
          made.length !== 1
            ? `${made.length} runs of calls (segments); a group needs one trajectory per episode`
            : episodeTemperature !== temperature
              ? `sampled at temperature ${episodeTemperature}, the learner's is ${temperature}`
              : undefined;
        if (unusable !== undefined) {
          report.unusableEpisodes.push({ episodeId: task.episodeId, reason: unusable });
          continue;
        }
        const trajectory = made[0]!;
        sampledTokens += sampledTokenCount(trajectory);
        if (learnerVersion - trajectory.policyVersion > request.maxPolicyLag) {
          report.staleEpisodes.push(task.episodeId);
          continue;
        }
        trajectories.push(trajectory);
      }
      for (const task of group.tasks) this.gateway.forget(task.episodeId);
      if (trajectories.length !== request.groupSize) continue;
      seenGroups++;
      const totals = trajectories.map((trajectory) => trajectory.totalReward);
      if (Math.max(...totals) - Math.min(...totals) <= request.zeroSpreadTolerance)
        zeroSpreadGroups++;
      kept.push({ groupId: group.groupId, scenarioId: group.scenario.id, trajectories });
    }
    this.lastReport = report;
    return {
      groups: kept,
      episodes: tasks.length,
      zeroSpreadGroupFraction: seenGroups === 0 ? 0 : zeroSpreadGroups / seenGroups,
      droppedGroups: groups.length - kept.length,
      refills: 0,
      sampledTokens,
      timings: { rollout: rolloutSeconds, scoring: 0 },
      failures: [],
      staleEpisodes: report.staleEpisodes.length,
      timedOutEpisodes: waited.timedOut.length,
    };
  }

  /**
   * Runs held-out scenarios through the agent program (`mode: 'evaluate'`
   * tasks) and counts the episodes its scorer marked successful.
   */
  async evaluate(options: {
    scenarios: readonly S[];
    temperature: number;
    maxTokens: number;
    /** Episodes per scenario (default 1). */
    episodesPerScenario?: number;
    seed?: number;
    label?: string;
  }): Promise<GatewayEvaluation> {
    const seeds = new Random(options.seed ?? 0);
    const label = options.label ?? `eval-${Date.now()}`;
    const tasks = options.scenarios.flatMap((scenario, scenarioIndex) =>
      Array.from(
        { length: options.episodesPerScenario ?? 1 },
        (_, index): EpisodeTask => ({
          episodeId: `${label}-${scenarioIndex}-${index}`,
          groupId: `${label}-${scenarioIndex}`,
          scenarioId: scenario.id,
          scenario: JSON.parse(JSON.stringify(scenario)) as unknown,
          seed: seeds.nextUint32(),
          mode: 'evaluate',
          temperature: options.temperature,
          maxTokens: options.maxTokens,
          policyVersion: this.gateway.policyVersion,
        }),
      ),
    );
    this.gateway.offerTasks(tasks);
    const ids = tasks.map((task) => task.episodeId);
    const waited = await this.gateway.waitForEpisodes(ids, {
      timeoutMs: this.options.groupTimeoutMs,
    });
    this.gateway.withdrawTasks(waited.timedOut);
    const successes = waited.completed.filter((episode) => episode.success === true).length;
    const rewards = waited.completed.map((episode) => episode.reward ?? 0);
    for (const id of ids) this.gateway.forget(id);
    return {
      episodes: tasks.length,
      successes,
      successRate: tasks.length === 0 ? 0 : successes / tasks.length,
      rewardMean:
        rewards.length === 0 ? 0 : rewards.reduce((sum, value) => sum + value, 0) / rewards.length,
      timedOut: waited.timedOut,
    };
  }
}

/** Makes a {@link GatewayRolloutSource}. */
export function createGatewayRolloutSource<S extends ScenarioLike>(
  options: GatewayRolloutSourceOptions & { gateway: RolloutGateway },
): GatewayRolloutSource<S> {
  return new GatewayRolloutSource<S>(options);
}
