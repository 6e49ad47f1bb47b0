import { InvalidArgumentError, type Random, type TrajectoryGroup } from '@cohort/core';
import type { RolloutOptions, ScenarioLike } from './rollout';
import type { RolloutCollection } from './rollout-collection-stage';

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
  /** The learner's policy version when the step starts. */
  currentVersion: number;
  /** Trajectories sampled more than this many versions before `currentVersion` must not be kept. */
  maxPolicyLag: number;
  generation: RolloutOptions<S>['generation'];
  systemPrompt?: string;
  maxSequenceLength: number;
  /** Groups whose returns spread by at most this count as zero-spread in `zeroSpreadGroupFraction`. */
  zeroSpreadTolerance: number;
}

/**
 * Where a trainer's rollouts come from when they are not run in process by
 * the trainer itself: an OpenAI-compatible gateway fed by an external agent
 * program, a queue of remote workers. It hands back the same
 * {@link RolloutCollection} as the in-process stage, so every later stage
 * (reference scoring, return shaping, advantages, objectives) runs unchanged.
 *
 * @example
 * ```ts
 * const trainer = new GrpoTrainer({ policy, environment, trainScenarios, rewards, rolloutSource });
 * ```
 */
export interface RolloutSource<S extends ScenarioLike> {
  /** A short name for logs: `gateway`, `nats`, ... */
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
