import {
  type AdvantageEstimator,
  type Environment,
  InvalidArgumentError,
  type KlEstimator,
  type Objective,
  type ReferenceModel,
  type Scenario,
  type TrajectoryGroup,
} from '@cohort/core';
import type { GptModel, LlamaModel } from '@cohort/tfjs';
import type { ShardGradientLearner } from '@cohort/tfjs/node';
import type * as tf from '@tensorflow/tfjs';
import {
  type GrpoTrainingOptions,
  type GrpoTrainingOptionsInput,
  GrpoTrainingOptionsSchema,
} from './grpo-training-options';
import type { RewardFailure, ScenarioLike, WeightedReward } from './reward-scoring-stage';
import type { RolloutSource } from './rollout-source';
import type { EvaluationMetrics, StepMetrics } from './step-metrics';
import { isRefreshable, type PolicyOptimizer, type TrainablePolicy } from './trainable-policy';
import type { TrajectoryRecord } from './trajectory-record';
import type { TransportRolloutsOptionsInput } from './transport-rollouts-options';
import type { TrainableValueFunction } from './value-function';

/** Events a trainer emits for progress bars, logs and reports. */
export type TrainerEvent =
  | { type: 'step'; metrics: StepMetrics }
  | { type: 'evaluation'; metrics: EvaluationMetrics }
  | { type: 'warning'; step: number; message: string }
  | { type: 'reward-failure'; step: number; failure: RewardFailure }
  | { type: 'rollouts'; step: number; groups: TrajectoryGroup[] }
  | { type: 'trajectory-records'; step: number; records: TrajectoryRecord[] };

/** Options of {@link GrpoTrainer}. */
export interface GrpoTrainerOptions<S extends ScenarioLike = Scenario> {
  policy: TrainablePolicy;
  /**
   * The policy's optimizer. Omitted: built from `config.optimizer`. Given: it
   * replaces `config.optimizer`, which must then stay at its default.
   */
  optimizer?: PolicyOptimizer;
  /** The frozen reference of the KL term; required when the KL coefficient can be non-zero. */
  referenceModel?: ReferenceModel;
  /** Runs training rollouts and `evaluate()`; may be left out only when a `rolloutSource` gives the rollouts. */
  environment?: Environment<S>;
  trainScenarios: readonly S[];
  evalScenarios?: readonly S[];
  rewards: readonly WeightedReward<S>[];
  config?: GrpoTrainingOptionsInput | GrpoTrainingOptions;
  /** An advantage estimator of your own, in place of the one `config.advantage` names. */
  advantageEstimator?: AdvantageEstimator;
  /** An objective of your own, in place of the one `config.objective` configures. */
  objective?: Objective<tf.Tensor>;
  /**
   * A KL estimator of your own, in place of the one `config.kl.estimator`
   * names: it gives the built-in objective's KL term, the KL placed in the
   * reward and the `klToReference` metric. The config's estimator name and
   * clamps must then be unset. Data-parallel learning needs a named one.
   */
  klEstimator?: KlEstimator<tf.Tensor>;
  systemPrompt?: string;
  onEvent?: (event: TrainerEvent) => void;
  /** The critic of PPO mode (`config.value.enabled`). */
  valueFunction?: TrainableValueFunction;
  /** The critic's optimizer. Omitted: Adam(W) at `config.value.learningRate`. */
  valueOptimizer?: PolicyOptimizer;
  /**
   * Data-parallel learning: a {@link DataParallelLearner} started with
   * {@link policyShardLossModule} as its loss module and `model.config`
   * (`config` for a GPT, `llama: { config, lora }` for a Llama-family model),
   * where `model` is the policy's own tfjs model; with LoRA only the adapters'
   * weights and gradients cross threads. Each minibatch's gradient is
   * then computed over its workers (summed in worker order: bit-identical for
   * a given worker count). Needs the built-in objective (from
   * `config.objective`, not an instance) with an aggregation that shards add
   * up to; otherwise the trainer warns and learns in this thread. The caller
   * owns the learner (idle workers never keep the process alive).
   *
   * A {@link SequentialShardLearner} (`createSequentialShardLearner({
   * lossModule: policyShardLossModule(), shardCount })`) takes the same place
   * to bound memory instead: the shards run one after another in this thread,
   * so only one shard's activations are alive at a time, and the update is
   * bit-identical to `shardCount` workers'.
   */
  dataParallel?: { learner: ShardGradientLearner; model: GptModel | LlamaModel };
  /**
   * Where rollouts come from. Omitted: the trainer runs `environment` in
   * process. Given (an OpenAI-compatible gateway, remote workers): training
   * rollouts come from it; `environment`, when given, still runs `evaluate()`.
   */
  rolloutSource?: RolloutSource<S>;
  /**
   * Rollouts on workers over a transport (in-process or NATS JetStream)
   * instead of in the trainer's process. Omitted: rollouts run here, batched.
   */
  rollouts?: TransportRolloutsOptionsInput;
}

const defaultConfig = GrpoTrainingOptionsSchema.parse({});

function changed(value: unknown, fallback: unknown): boolean {
  return JSON.stringify(value) !== JSON.stringify(fallback);
}

/**
 * The config fields that are set away from their defaults but cannot take
 * effect because the switch they belong to is off, one message each.
 */
export function inertSettings(config: GrpoTrainingOptions): string[] {
  const messages: string[] = [];
  const inert = (field: string, value: unknown, fallback: unknown, because: string) => {
    if (changed(value, fallback))
      messages.push(`config.${field} = ${JSON.stringify(value)} has no effect: ${because}`);
  };
  if (!config.value.enabled) {
    for (const key of ['gamma', 'lambda', 'clipRange', 'learningRate'] as const)
      inert(
        `value.${key}`,
        config.value[key],
        defaultConfig.value[key],
        'config.value.enabled is false',
      );
  }
  if (!config.dynamicSampling.enabled)
    inert(
      'dynamicSampling.maxRefills',
      config.dynamicSampling.maxRefills,
      defaultConfig.dynamicSampling.maxRefills,
      'config.dynamicSampling.enabled is false',
    );
  if (config.referenceRefresh.mode === 'none')
    inert(
      'referenceRefresh.everySteps',
      config.referenceRefresh.everySteps,
      defaultConfig.referenceRefresh.everySteps,
      "config.referenceRefresh.mode is 'none'",
    );
  if (config.referenceRefresh.mode !== 'mix')
    inert(
      'referenceRefresh.alpha',
      config.referenceRefresh.alpha,
      defaultConfig.referenceRefresh.alpha,
      `only mode 'mix' mixes (config.referenceRefresh.mode is '${config.referenceRefresh.mode}')`,
    );
  return messages;
}

/**
 * Checks the parts given to a trainer against its resolved config: what a
 * setting needs is there, no setting is silently replaced by an instance,
 * and an instance that cannot take effect is refused. A config field that
 * cannot take effect (see {@link inertSettings}) goes to `warn`.
 *
 * @throws InvalidArgumentError naming the option or config field.
 * @example
 * ```ts
 * validateTrainerOptions(options, resolveTrainingOptions(options.config ?? {}), console.warn);
 * ```
 */
export function validateTrainerOptions<S extends ScenarioLike>(
  options: GrpoTrainerOptions<S>,
  config: GrpoTrainingOptions,
  warn: (message: string) => void = () => {},
): void {
  if (options.trainScenarios.length === 0) {
    throw new InvalidArgumentError({
      argument: 'trainScenarios',
      value: [],
      message: 'needs at least one scenario',
    });
  }
  const klCanBeNonZero =
    config.kl.controller.type === 'adaptive' || config.kl.controller.coefficient > 0;
  if (klCanBeNonZero && !options.referenceModel) {
    throw new InvalidArgumentError({
      argument: 'referenceModel',
      value: undefined,
      message: 'is required when the KL coefficient can be non-zero (kl.controller)',
    });
  }
  if (
    config.referenceRefresh.mode !== 'none' &&
    options.referenceModel &&
    !isRefreshable(options.referenceModel)
  ) {
    throw new InvalidArgumentError({
      argument: 'config.referenceRefresh.mode',
      value: config.referenceRefresh.mode,
      message:
        'needs a reference model with getWeights/setWeights (a frozen copy, not a fixed base model)',
    });
  }
  if (!options.environment && !options.rolloutSource) {
    throw new InvalidArgumentError({
      argument: 'environment',
      value: undefined,
      message: 'is required unless a rolloutSource gives the training rollouts',
    });
  }
  if (options.rolloutSource && options.rollouts) {
    throw new InvalidArgumentError({
      argument: 'rollouts',
      value: options.rollouts.mode ?? 'synchronous',
      message: `would not take effect: rollouts come from the ${options.rolloutSource.kind} source; give rolloutSource or rollouts, not both`,
    });
  }
  if (options.rolloutSource && config.dynamicSampling.enabled) {
    throw new InvalidArgumentError({
      argument: 'config.dynamicSampling.enabled',
      value: true,
      message: `would not take effect: rollouts come from the ${options.rolloutSource.kind} source, which gathers its own groups`,
    });
  }
  if (config.value.enabled && !options.valueFunction) {
    throw new InvalidArgumentError({
      argument: 'valueFunction',
      value: undefined,
      message: 'is required when config.value.enabled is true',
    });
  }
  for (const option of ['valueFunction', 'valueOptimizer'] as const) {
    if (options[option] && !config.value.enabled) {
      throw new InvalidArgumentError({
        argument: option,
        value: option === 'valueFunction' ? 'a value function' : 'an optimizer',
        message:
          'would not take effect: config.value.enabled is false (true trains it as the critic of PPO with GAE)',
      });
    }
  }
  for (const message of inertSettings(config)) warn(message);
  if (options.optimizer && changed(config.optimizer, defaultConfig.optimizer)) {
    throw new InvalidArgumentError({
      argument: 'config.optimizer',
      value: config.optimizer,
      message:
        'would not take effect: an optimizer instance was given; leave config.optimizer out or the instance',
    });
  }
  if (options.valueOptimizer && config.value.learningRate !== defaultConfig.value.learningRate) {
    throw new InvalidArgumentError({
      argument: 'config.value.learningRate',
      value: config.value.learningRate,
      message: 'would not take effect: a valueOptimizer instance was given',
    });
  }
}
