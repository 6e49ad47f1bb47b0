import { InvalidArgumentError, type Random, type TrajectoryGroup } from '@cohort/core';
import type { ScenarioLike } from './reward-scoring-stage';
import type { RolloutOptions } from './rollout';
import type { RolloutCollection } from './rollout-collection-stage';
import type { TrainablePolicy } from './trainable-policy';

/** What the trainer asks a {@link RolloutSource} for at the start of a step. */
export interface RolloutSourceRequest<S extends ScenarioLike> {
  /** The step about to run (0-based). */
  step: number;
  /** Prefix of trajectory ids for this step, e.g. `s12`. */
  label: string;
  /** The training scenarios to draw from. */
  scenarioPool: readonly S[];
  /** The trainer's random stream: draw scenarios and seeds from it so a run stays reproducible. */
  random: Random;
  scenariosPerStep: number;
  /** Trajectories per group: every kept group must hold exactly this many. */
  groupSize: number;
  /** The learner's policy: sources that sample in this process use it, sources over a transport publish its weights. */
  policy: TrainablePolicy;
  /** The learner's policy version when the step starts (`policy.version`). */
  currentVersion: number;
  /** Trajectories sampled more than this many versions before `currentVersion` must not be kept. */
  maxPolicyLag: number;
  generation: RolloutOptions<S>['generation'];
  systemPrompt?: string;
  maxSequenceLength: number;
  /** Groups whose returns spread by at most this count as zero-spread in `zeroSpreadGroupFraction`. */
  zeroSpreadTolerance: number;
  /** Dynamic sampling (DAPO): drop zero-spread groups and roll out again, at most `maxRefills` times. */
  dynamicSampling: { enabled: boolean; maxRefills: number };
  /** Reports what the source dropped or could not get, as trainer warnings. */
  warn: (message: string) => void;
}

/**
 * Where a trainer's rollouts come from: the one protocol of the
 * rollout-collection stage. The trainer's environment run in process
 * (`createInProcessRolloutSource`, the default), workers over a transport
 * (`TransportRolloutCollector`), an OpenAI-compatible gateway fed by an
 * external agent program (`createGatewayRolloutSource` in `@cohort/gateway`).
 * Each hands back a {@link RolloutCollection}, so every later stage
 * (reference scoring, return shaping, advantages, objectives) runs the same
 * whichever source ran.
 *
 * @example
 * ```ts
 * const trainer = new GrpoTrainer({ policy, environment, trainScenarios, rewards, rolloutSource });
 * ```
 */
export interface RolloutSource<S extends ScenarioLike> {
  /** A short name for logs: `in-process`, `transport`, `gateway`, ... */
  readonly kind: string;
  collect(request: RolloutSourceRequest<S>): Promise<RolloutCollection>;
}

/**
 * Checks what a {@link RolloutSource} handed back: every group holds exactly
 * `groupSize` trajectories, since the advantage stage reads groups as
 * consecutive runs of that many.
 *
 * @throws InvalidArgumentError naming the source, the group and its size.
 * @example
 * ```ts
 * checkSourceGroups({ kind: 'gateway', groups: collection.groups, groupSize: 4 });
 * ```
 */
export function checkSourceGroups(options: {
  kind: string;
  groups: readonly TrajectoryGroup[];
  groupSize: number;
}): void {
  for (const group of options.groups) {
    if (group.trajectories.length !== options.groupSize) {
      throw new InvalidArgumentError({
        argument: `rolloutSource (${options.kind}) group ${group.scenarioId}`,
        value: group.trajectories.length,
        message: `holds ${group.trajectories.length} trajectories; groupSize is ${options.groupSize}`,
      });
    }
  }
}
