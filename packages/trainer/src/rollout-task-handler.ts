import { type Environment, InvalidArgumentError } from '@cohort/core';
import type { RolloutHandler } from '@cohort/transport';
import { applyPolicySnapshot } from './policy-snapshot';
import type { ScenarioLike, WeightedReward } from './reward-scoring-stage';
import { rolloutGroups } from './rollout';
import type { TrainablePolicy } from './trainable-policy';
import type { RolloutTaskPayload } from './transport-rollout-collection';

/** Options of {@link createRolloutTaskHandler}. */
export interface RolloutTaskHandlerOptions<S extends ScenarioLike> {
  /** The worker's own policy: same architecture (and LoRA setup) as the learner's; its weights come from each task's snapshot. */
  policy: TrainablePolicy;
  environment: Environment<S>;
  rewards: readonly WeightedReward<S>[];
  /** Every scenario a task may name (the learner's training scenarios). */
  scenarios: readonly S[];
}

/**
 * A worker's handler for the trainer's rollout tasks: loads the task's policy
 * version (once per version), then runs the task's group with
 * `rolloutGroups` seeded by the task's seed, so the group is the same on
 * every worker and in the learner's process. Heartbeats after every turn of
 * every episode, because a timer cannot fire while inference holds the event
 * loop.
 *
 * @example
 * ```ts
 * const handler = createRolloutTaskHandler({ policy, environment, rewards, scenarios });
 * await runRolloutWorker({ source, workerId: 'box-2', handler });
 * ```
 */
export function createRolloutTaskHandler<S extends ScenarioLike>(
  options: RolloutTaskHandlerOptions<S>,
): RolloutHandler {
  const scenarios = new Map(options.scenarios.map((scenario) => [scenario.id, scenario]));
  let loadedVersion: number | undefined;
  return async ({ task, policy: snapshot, heartbeat }) => {
    const scenario = scenarios.get(task.scenarioId);
    if (scenario === undefined) {
      throw new InvalidArgumentError({
        argument: 'task.scenarioId',
        value: task.scenarioId,
        message:
          "is not among this worker's scenarios (does the worker use the learner's scenario set?)",
      });
    }
    const payload = task.payload as RolloutTaskPayload | undefined;
    if (payload === undefined || typeof payload.label !== 'string') {
      throw new InvalidArgumentError({
        argument: 'task.payload',
        value: payload,
        message: "has no rollout settings: the task was not made by the trainer's transport stage",
      });
    }
    if (loadedVersion !== snapshot.version) {
      applyPolicySnapshot(options.policy, snapshot);
      loadedVersion = snapshot.version;
    }
    const environment: Environment<S> = {
      name: options.environment.name,
      reset: async (resetOptions) => {
        heartbeat();
        const episode = await options.environment.reset(resetOptions);
        return {
          get messages() {
            return episode.messages;
          },
          step: async (message: string) => {
            heartbeat();
            return episode.step(message);
          },
        };
      },
    };
    const label = `${payload.label}-${task.groupIndex}`;
    const result = await rolloutGroups({
      policy: options.policy,
      environment,
      scenarios: [scenario],
      groupSize: task.groupSize,
      seed: task.seed,
      generation: payload.generation,
      rewards: options.rewards,
      ...(payload.systemPrompt === undefined ? {} : { systemPrompt: payload.systemPrompt }),
      maxSequenceLength: payload.maxSequenceLength,
      label,
    });
    const group = result.groups[0]!;
    return {
      groupId: label,
      scenarioId: group.scenarioId,
      trajectories: group.trajectories.map((trajectory, sampleIndex) => ({
        ...trajectory,
        id: `${label}-${sampleIndex}`,
      })),
    };
  };
}
