import type { Environment } from '@cohort/core';
import type { ScenarioLike, WeightedReward } from './reward-scoring-stage';
import { collectRollouts } from './rollout-collection-stage';
import type { RolloutSource } from './rollout-source';

/**
 * The default {@link RolloutSource}: the trainer's own environment and reward
 * functions, run in this process with the learner's policy, all groups of a
 * round sampled in one batched call ({@link collectRollouts}, with dynamic
 * sampling).
 *
 * @example
 * ```ts
 * const source = createInProcessRolloutSource({ environment, rewards });
 * const collection = await source.collect(request);
 * ```
 */
export function createInProcessRolloutSource<S extends ScenarioLike>(options: {
  environment: Environment<S>;
  rewards: readonly WeightedReward<S>[];
}): RolloutSource<S> {
  const { environment, rewards } = options;
  return {
    kind: 'in-process',
    collect: (request) =>
      collectRollouts({
        policy: request.policy,
        environment,
        rewards,
        scenarioPool: request.scenarioPool,
        random: request.random,
        scenariosPerStep: request.scenariosPerStep,
        groupSize: request.groupSize,
        generation: request.generation,
        ...(request.systemPrompt === undefined ? {} : { systemPrompt: request.systemPrompt }),
        maxSequenceLength: request.maxSequenceLength,
        zeroSpreadTolerance: request.zeroSpreadTolerance,
        dynamicSampling: request.dynamicSampling,
        label: request.label,
      }),
  };
}
