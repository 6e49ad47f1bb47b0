import type { GenerationOptions, Random, TrajectoryGroup } from '@cohort/core';
import { parseWithSchema } from '@cohort/core';
import type {
  CollectReport,
  RolloutTask,
  RolloutTransport,
  TransportPosition,
} from '@cohort/transport';
import { encodePolicySnapshot } from './policy-snapshot';
import type { ScenarioLike } from './reward-scoring-stage';
import type { RolloutCollection } from './rollout-collection-stage';
import type { RolloutSource, RolloutSourceRequest } from './rollout-source';
import type { TrainablePolicy } from './trainable-policy';
import {
  type TransportRolloutsOptions,
  type TransportRolloutsOptionsInput,
  TransportRolloutsOptionsSchema,
} from './transport-rollouts-options';

/** What a rollout task carries besides its scenario and seed: the learner's rollout settings at the time. */
export interface RolloutTaskPayload {
  /** Prefix of the group and trajectory ids, e.g. `s12r0` (step 12, round 0). */
  label: string;
  generation: GenerationOptions;
  systemPrompt?: string;
  maxSequenceLength: number;
}

/** The collector's part of the learner's checkpoint. */
export interface TransportRolloutsState {
  /** The transport's stream positions. */
  position: TransportPosition;
  /** Tasks already handed out for later steps (asynchronous mode); a resumed learner collects them, never redraws them. */
  aheadTasks: RolloutTask[];
}

/** A {@link RolloutCollection} with what the transport counted. */
export interface TransportRolloutCollection extends RolloutCollection {
  /** Groups dropped for staleness (asynchronous mode). */
  staleGroups: number;
  /** Tasks that ended without a group: failed, dead-lettered, timed out. */
  lostGroups: number;
  /** Extra copies of results the transport ignored. */
  duplicates: number;
}

function drawScenarios<S>(random: Random, pool: readonly S[], count: number): S[] {
  if (count <= pool.length) return random.sample(pool, count);
  return Array.from({ length: count }, () => random.choice(pool));
}

/**
 * The rollout-collection stage over a {@link RolloutTransport}: each group is
 * one task with its own seed drawn from the trainer's random stream, so a
 * group does not depend on which worker ran it, or on what else that worker
 * ran. A worker runs it with {@link createRolloutTaskHandler}.
 *
 * Synchronous mode publishes the current weights and samples every task
 * with them: a run over NATS with any number of workers is bit-identical to
 * one over the in-process transport. Asynchronous mode hands out the tasks
 * of the next `stepsAhead` steps before the current step learns (the
 * one-step-off-policy pipelining of prime-rl and AReaL); groups more than
 * `maxPolicyLag` versions old when collected are dropped and counted.
 *
 * @example
 * ```ts
 * const collector = new TransportRolloutCollector({ transport: createInProcessTransport() });
 * const trainer = new GrpoTrainer({ ...options, rollouts: { transport } });
 * ```
 */
export class TransportRolloutCollector<S extends ScenarioLike> implements RolloutSource<S> {
  readonly kind = 'transport';
  readonly options: TransportRolloutsOptions;
  private readonly ahead = new Map<number, RolloutTask[]>();
  private publishedVersion: number | undefined;

  constructor(options: TransportRolloutsOptionsInput) {
    this.options = parseWithSchema(TransportRolloutsOptionsSchema, options, 'rollouts');
  }

  get transport(): RolloutTransport {
    return this.options.transport;
  }

  /** Runs one step's rollouts on the transport's workers. */
  async collect(input: RolloutSourceRequest<S>): Promise<TransportRolloutCollection> {
    const { step, dynamicSampling } = input;
    await this.publish(input.policy);
    const planned = this.ahead.get(step);
    this.ahead.delete(step);
    let tasks = planned ?? this.plan(input, step, 0, input.scenariosPerStep);
    await this.transport.submit(tasks);
    if (this.options.mode === 'asynchronous') {
      const stepsAhead = this.options.stepsAhead ?? 1;
      for (let later = step + 1; later <= step + stepsAhead; later++) {
        if (this.ahead.has(later)) continue;
        const laterTasks = this.plan(input, later, 0, input.scenariosPerStep);
        this.ahead.set(later, laterTasks);
        await this.transport.submit(laterTasks);
      }
    }
    const kept: TrajectoryGroup[] = [];
    const collection: TransportRolloutCollection = {
      groups: kept,
      episodes: 0,
      zeroSpreadGroupFraction: 0,
      droppedGroups: 0,
      refills: 0,
      sampledTokens: 0,
      timings: { rollout: 0, scoring: 0 },
      failures: [],
      staleGroups: 0,
      lostGroups: 0,
      duplicates: 0,
    };
    let seenGroups = 0;
    let zeroSpreadGroups = 0;
    for (let round = 0; ; round++) {
      if (round > 0) {
        tasks = this.plan(input, step, round, input.scenariosPerStep - kept.length);
        await this.transport.submit(tasks);
      }
      const start = performance.now();
      const report = await this.transport.collect({
        tasks,
        currentVersion: input.policy.version,
        maxPolicyLag: this.options.mode === 'synchronous' ? 0 : input.maxPolicyLag,
        timeoutMs: this.options.timeoutMs,
      });
      collection.timings.rollout += (performance.now() - start) / 1000;
      this.account(collection, report, input.warn, step);
      for (const result of report.results) {
        const group = result.group;
        collection.episodes += group.trajectories.length;
        for (const trajectory of group.trajectories) {
          collection.sampledTokens += trajectory.lossMask.reduce<number>(
            (sum, bit) => sum + bit,
            0,
          );
        }
        seenGroups++;
        const totals = group.trajectories.map((trajectory) => trajectory.totalReward);
        const zeroSpread = Math.max(...totals) - Math.min(...totals) <= input.zeroSpreadTolerance;
        if (zeroSpread) zeroSpreadGroups++;
        if (zeroSpread && dynamicSampling.enabled) collection.droppedGroups++;
        else kept.push(group);
      }
      for (const stale of report.stale) collection.episodes += stale.group.trajectories.length;
      if (
        !dynamicSampling.enabled ||
        kept.length >= input.scenariosPerStep ||
        round >= dynamicSampling.maxRefills
      )
        break;
      collection.refills++;
    }
    collection.zeroSpreadGroupFraction = seenGroups === 0 ? 0 : zeroSpreadGroups / seenGroups;
    return collection;
  }

  /** The collector's part of a checkpoint. */
  getState(): TransportRolloutsState {
    return {
      position: this.transport.getPosition(),
      aheadTasks: [...this.ahead.values()].flat(),
    };
  }

  /** Restores {@link getState}'s output; the current weights are published again on the next step. */
  setState(state: TransportRolloutsState): void {
    this.transport.setPosition(state.position);
    this.ahead.clear();
    for (const task of state.aheadTasks) {
      this.ahead.set(task.step, [...(this.ahead.get(task.step) ?? []), task]);
    }
    this.publishedVersion = undefined;
  }

  private async publish(policy: TrainablePolicy): Promise<void> {
    if (this.publishedVersion === policy.version) return;
    await this.transport.publishPolicy(encodePolicySnapshot(policy));
    this.publishedVersion = policy.version;
  }

  private plan(
    input: RolloutSourceRequest<S>,
    step: number,
    round: number,
    count: number,
  ): RolloutTask[] {
    const label = `s${step}r${round}`;
    const payload: RolloutTaskPayload = {
      label,
      generation: input.generation,
      ...(input.systemPrompt === undefined ? {} : { systemPrompt: input.systemPrompt }),
      maxSequenceLength: input.maxSequenceLength,
    };
    return drawScenarios(input.random, input.scenarioPool, count).map((scenario, groupIndex) => ({
      taskId: `${label}g${groupIndex}`,
      step,
      scenarioId: scenario.id,
      seed: input.random.nextUint32(),
      groupIndex,
      groupSize: input.groupSize,
      policyVersion: input.policy.version,
      payload,
    }));
  }

  private account(
    collection: TransportRolloutCollection,
    report: CollectReport,
    warn: (message: string) => void,
    step: number,
  ): void {
    collection.staleGroups += report.stale.length;
    collection.duplicates += report.duplicates;
    const lost = report.failed.length + report.deadLettered.length + report.timedOut.length;
    collection.lostGroups += lost;
    for (const failure of report.failed) {
      warn(
        `step ${step}: rollout task ${failure.taskId} failed on ${failure.workerId}: ${failure.error}`,
      );
    }
    if (report.deadLettered.length > 0) {
      warn(
        `step ${step}: rollout tasks ${report.deadLettered.join(', ')} were dead-lettered (handed out the maximum number of times without a result)`,
      );
    }
    if (report.timedOut.length > 0) {
      warn(
        `step ${step}: rollout tasks ${report.timedOut.join(', ')} had no result after ${this.options.timeoutMs} ms (are workers running?)`,
      );
    }
    if (report.stale.length > 0) {
      warn(
        `step ${step}: dropped ${report.stale.length} stale groups (sampled more than maxPolicyLag versions before the learner's)`,
      );
    }
    for (const rejected of report.rejected) {
      warn(`step ${step}: rollout result for ${rejected.taskId} rejected: ${rejected.reason}`);
    }
  }
}
