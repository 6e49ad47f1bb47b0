import {
  type AdvantageEstimator,
  InvalidArgumentError,
  type KlEstimator,
  type Objective,
  type Random,
  type Trajectory,
} from '@cohort/core';
import type { ObjectiveOptions } from '@cohort/objectives';
import { createOptimizer } from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';
import type { AdvantageRecord } from './advantage-stage';
import { type AdvantageStage, criticAdvantageStage, groupAdvantageStage } from './advantage-stage';
import { resolveAlgorithms } from './algorithm-registry';
import { type CriticLearningResult, learnCritic } from './critic-learning-stage';
import type { GrpoTrainerOptions } from './grpo-trainer-options';
import type { GrpoTrainingOptions } from './grpo-training-options';
import { createInProcessRolloutSource } from './in-process-rollout-source';
import {
  learnPolicy,
  type PolicyGradientWorkers,
  type PolicyLearningResult,
} from './policy-learning-stage';
import { createPolicyOptimizer } from './policy-optimizer';
import { unshardableReason } from './policy-shard-loss';
import type { ReferenceScores } from './reference-scoring-stage';
import type { ScenarioLike } from './reward-scoring-stage';
import type { RolloutSource } from './rollout-source';
import type { PolicyOptimizer } from './trainable-policy';
import { TransportRolloutCollector } from './transport-rollout-collection';

/** What a learning stage needs from the step besides its fixed settings. */
interface StepInputs {
  trajectories: readonly Trajectory[];
  /** The trainer's random stream, for the minibatch order. */
  random: Random;
  warn: (message: string) => void;
}

/**
 * The stages a {@link GrpoTrainer} runs, chosen and bound to their settings
 * once: the rollout source, the algorithm instances, the advantage stage
 * (group-relative, or GAE with the critic in PPO mode), and the two learning
 * stages. PPO mode is this choice of stages, not a branch in the step.
 */
export interface GrpoTrainerStages<S extends ScenarioLike> {
  optimizer: PolicyOptimizer;
  valueOptimizer: PolicyOptimizer | undefined;
  advantageEstimator: AdvantageEstimator;
  objective: Objective<tf.Tensor>;
  klEstimator: KlEstimator<tf.Tensor>;
  advantageStage: AdvantageStage;
  rolloutCollector: TransportRolloutCollector<S> | undefined;
  rolloutSource: RolloutSource<S>;
  /**
   * The learner that computes the policy's gradients: the options'
   * `dataParallel` learner when the objective's loss can be split across it,
   * else undefined (tfjs autodiff in this thread, with a warning saying why).
   */
  policyLearner: PolicyGradientWorkers['learner'] | undefined;
  /** The critic-learning stage; present when the advantage stage gives critic targets (PPO mode). */
  learnCritic:
    | ((inputs: StepInputs & { advantages: AdvantageRecord }) => CriticLearningResult | undefined)
    | undefined;
  /** The policy-learning stage over any objective. */
  learnPolicy: (
    inputs: StepInputs & {
      advantages: AdvantageRecord;
      reference: ReferenceScores;
      klCoefficient: number;
    },
  ) => Promise<PolicyLearningResult>;
}

/**
 * Chooses the trainer's stages from its options and validated config: given
 * instances (optimizer, algorithms, rollout source) win, and config names
 * resolve to the built-in ones.
 *
 * @example
 * ```ts
 * const stages = createGrpoTrainerStages({ options, config, warn: console.warn });
 * ```
 */
export function createGrpoTrainerStages<S extends ScenarioLike>(stageOptions: {
  options: GrpoTrainerOptions<S>;
  config: GrpoTrainingOptions;
  warn: (message: string) => void;
}): GrpoTrainerStages<S> {
  const { options, config, warn } = stageOptions;
  const optimizer =
    options.optimizer ??
    createPolicyOptimizer({ config, variables: options.policy.namedVariables(), warn });
  const valueOptimizer =
    options.valueOptimizer ??
    (options.valueFunction && config.value.enabled
      ? createOptimizer({
          type: config.optimizer.type,
          learningRate: config.value.learningRate,
          variables: options.valueFunction.namedVariables(),
        })
      : undefined);
  const algorithms = resolveAlgorithms({
    config,
    ...(options.advantageEstimator ? { advantageEstimator: options.advantageEstimator } : {}),
    ...(options.objective ? { objective: options.objective } : {}),
    ...(options.klEstimator ? { klEstimator: options.klEstimator } : {}),
  });
  const { valueFunction } = options;
  const ppo = config.value.enabled && valueFunction !== undefined;
  const advantageStage = ppo
    ? criticAdvantageStage({
        valueFunction,
        gamma: config.value.gamma,
        lambda: config.value.lambda,
        minibatchSize: config.minibatchSize,
      })
    : groupAdvantageStage(algorithms.advantageEstimator);
  const workers = policyGradientWorkers(options, algorithms.objectiveConfig, warn);
  const rolloutCollector =
    options.rollouts === undefined ? undefined : new TransportRolloutCollector(options.rollouts);
  const rolloutSource =
    options.rolloutSource ??
    rolloutCollector ??
    createInProcessRolloutSource({
      // validateTrainerOptions made sure there is one when no source is given.
      environment: options.environment!,
      rewards: options.rewards,
    });
  if (rolloutCollector?.options.mode === 'asynchronous' && config.maxPolicyLag === 0) {
    warn(
      'rollouts.mode is asynchronous but maxPolicyLag is 0: every group sampled ahead is stale and dropped; set maxPolicyLag to the updates per step times rollouts.stepsAhead',
    );
  }
  return {
    optimizer,
    valueOptimizer,
    advantageEstimator: algorithms.advantageEstimator,
    objective: algorithms.objective,
    klEstimator: algorithms.klEstimator,
    advantageStage,
    rolloutCollector,
    rolloutSource,
    policyLearner: workers?.learner,
    learnCritic:
      valueFunction && valueOptimizer
        ? ({ trajectories, advantages, random, warn: warnStep }) =>
            advantages.criticTargets === undefined
              ? undefined
              : learnCritic({
                  valueFunction,
                  optimizer: valueOptimizer,
                  trajectories,
                  criticTargets: advantages.criticTargets,
                  epochs: config.epochs,
                  minibatchSize: config.minibatchSize,
                  ...(config.value.clipRange === undefined
                    ? {}
                    : { clipRange: config.value.clipRange }),
                  random,
                  warn: warnStep,
                })
        : undefined,
    learnPolicy: ({ trajectories, advantages, reference, klCoefficient, random, warn: warnStep }) =>
      learnPolicy({
        policy: options.policy,
        optimizer,
        objective: algorithms.objective,
        trajectories,
        advantagesPerToken: advantages.advantagesPerToken,
        ...(reference.refLogProbsPerToken && config.kl.placement === 'loss'
          ? { refLogProbsPerToken: reference.refLogProbsPerToken }
          : {}),
        klCoefficient,
        epochs: config.epochs,
        minibatchSize: config.minibatchSize,
        gradientAccumulationSteps: config.gradientAccumulationSteps,
        maskTruncated: config.maskTruncated,
        temperature: config.generation.temperature,
        random,
        recomputeBehaviorLogProbs: config.behaviorLogProbs === 'recompute',
        ...(workers ? { workers } : {}),
        warn: warnStep,
      }),
  };
}

/** The data-parallel learner of the policy-learning stage, when it can be used (else a warning says why not). */
function policyGradientWorkers<S extends ScenarioLike>(
  options: GrpoTrainerOptions<S>,
  objectiveConfig: ObjectiveOptions | undefined,
  warn: (message: string) => void,
): PolicyGradientWorkers | undefined {
  const { dataParallel } = options;
  if (dataParallel === undefined) return undefined;
  const modelVariables = dataParallel.model.trainableVariables();
  const policyVariables = options.policy.trainableVariables();
  if (
    modelVariables.length !== policyVariables.length ||
    modelVariables.some((variable, index) => variable !== policyVariables[index])
  ) {
    throw new InvalidArgumentError({
      argument: 'dataParallel.model',
      value: `${modelVariables.length} variables`,
      message: "must be the policy's own model: its trainable variables must be the policy's",
    });
  }
  const reason =
    objectiveConfig === undefined
      ? `${options.objective ? 'an objective' : 'a klEstimator'} instance was given, which workers cannot rebuild`
      : unshardableReason(objectiveConfig);
  if (reason !== undefined || objectiveConfig === undefined) {
    warn(`data-parallel learning is off: ${reason}; the policy learns in this thread`);
    return undefined;
  }
  return {
    learner: dataParallel.learner,
    model: dataParallel.model,
    objectiveConfig,
    padTokenId: options.policy.tokenizer.padTokenId,
  };
}
