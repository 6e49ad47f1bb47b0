import { type Environment, InvalidArgumentError, type Trajectory } from '@cohort/core';
import type { GrpoTrainingOptions } from './grpo-training-options';
import type { ScenarioLike, WeightedReward } from './reward-scoring-stage';
import { type RolloutOptions, rolloutGroups } from './rollout';
import { type EvaluationMetrics, trajectoryFigures } from './step-metrics';
import type { TrainablePolicy } from './trainable-policy';

/**
 * The evaluation stage: the held-out scenarios with a fixed seed (greedy by
 * default), so that evaluations at different steps are comparable; at most
 * `evaluation.maxScenarios` of them (0: all).
 *
 * @throws InvalidArgumentError naming `evalScenarios` when there is none.
 * @example
 * ```ts
 * const metrics = await evaluatePolicy({ policy, environment, rewards, scenarios, evaluation: config.evaluation,
 *   generation, maxSequenceLength: 256, step: 10 });
 * ```
 */
export async function evaluatePolicy<S extends ScenarioLike>(options: {
  policy: TrainablePolicy;
  environment: Environment<S>;
  rewards: readonly WeightedReward<S>[];
  scenarios: readonly S[];
  evaluation: GrpoTrainingOptions['evaluation'];
  generation: RolloutOptions<S>['generation'];
  systemPrompt?: string;
  maxSequenceLength: number;
  /** Steps taken so far, for the metrics and trajectory ids. */
  step: number;
  /** Receives every evaluation trajectory, scenario by scenario in order, each scenario's episodes in seed order. */
  onTrajectories?: (trajectories: readonly Trajectory[]) => void;
}): Promise<EvaluationMetrics> {
  const { evaluation } = options;
  const scenarios =
    evaluation.maxScenarios > 0
      ? options.scenarios.slice(0, evaluation.maxScenarios)
      : options.scenarios;
  if (scenarios.length === 0) {
    throw new InvalidArgumentError({
      argument: 'evalScenarios',
      value: [],
      message: 'evaluation needs scenarios',
    });
  }
  const result = await rolloutGroups({
    policy: options.policy,
    environment: options.environment,
    scenarios,
    groupSize: evaluation.episodesPerScenario,
    seed: evaluation.seed,
    generation: options.generation,
    rewards: options.rewards,
    ...(options.systemPrompt === undefined ? {} : { systemPrompt: options.systemPrompt }),
    maxSequenceLength: options.maxSequenceLength,
    label: `eval${options.step}`,
  });
  const trajectories = result.groups.flatMap((group) => group.trajectories);
  options.onTrajectories?.(trajectories);
  const figures = trajectoryFigures(trajectories);
  return {
    step: options.step,
    episodes: trajectories.length,
    rewardMean: figures.rewardMean,
    rewardStd: figures.rewardStd,
    successRate: figures.successRate,
    rewardMeanByFunction: figures.rewardMeanByFunction,
    samples: trajectories.slice(0, 4).map((trajectory) => ({
      scenarioId: trajectory.scenarioId,
      reward: trajectory.totalReward,
      endReason: trajectory.endReason,
      messages: trajectory.messages,
    })),
  };
}
