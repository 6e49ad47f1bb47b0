import {
  type RolloutSource as CoreRolloutSource,
  type RolloutSourceRequest as CoreRolloutSourceRequest,
  InvalidArgumentError,
  type ScenarioLike,
  type TrajectoryGroup,
} from '@cohort/core';
import type { TrainablePolicy } from './trainable-policy';

/** The core `RolloutSourceRequest` protocol over the tfjs {@link TrainablePolicy}. */
export type RolloutSourceRequest<S extends ScenarioLike> = CoreRolloutSourceRequest<
  S,
  TrainablePolicy
>;

/**
 * The core `RolloutSource` protocol (where a trainer's rollouts come from)
 * over the tfjs {@link TrainablePolicy}.
 *
 * @example
 * ```ts
 * const trainer = new GrpoTrainer({ policy, environment, trainScenarios, rewards, rolloutSource });
 * ```
 */
export type RolloutSource<S extends ScenarioLike> = CoreRolloutSource<S, TrainablePolicy>;

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
