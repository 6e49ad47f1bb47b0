import {
  type AdvantageEstimator,
  type Environment,
  InvalidArgumentError,
  type Objective,
  type ReferenceModel,
  type Scenario,
  type TrajectoryGroup,
} from '@cohort/core';
import type * as tf from '@tensorflow/tfjs';
import type { RewardFailure, ScenarioLike, WeightedReward } from './rollout';
import type { EvaluationMetrics, StepMetrics } from './step-metrics';
import { isRefreshable, type PolicyOptimizer, type TrainablePolicy } from './trainable-policy';
import {
  type GrpoTrainerConfig,
  type GrpoTrainerConfigInput,
  GrpoTrainerConfigSchema,
} from './trainer-config';
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
  environment: Environment<S>;
  trainScenarios: readonly S[];
  evalScenarios?: readonly S[];
  rewards: readonly WeightedReward<S>[];
  config?: GrpoTrainerConfigInput | GrpoTrainerConfig;
  /** An advantage estimator of your own, in place of the one `config.advantage` names. */
  advantageEstimator?: AdvantageEstimator;
  /** An objective of your own, in place of the one `config.objective` configures. */
  objective?: Objective<tf.Tensor>;
  systemPrompt?: string;
  onEvent?: (event: TrainerEvent) => void;
  /** The critic of PPO mode (`config.value.enabled`). */
  valueFunction?: TrainableValueFunction;
  /** The critic's optimizer. Omitted: Adam(W) at `config.value.learningRate`. */
  valueOptimizer?: PolicyOptimizer;
  /**
   * Rollouts on workers over a transport (in-process or NATS JetStream)
   * instead of in the trainer's process. Omitted: rollouts run here, batched.
   */
  rollouts?: TransportRolloutsOptionsInput;
}

const defaultConfig = GrpoTrainerConfigSchema.parse({});

/**
 * Checks the parts given to a trainer against its resolved config: what a
 * setting needs is there, and no setting is silently replaced by an instance.
 *
 * @throws InvalidArgumentError naming the option or config field.
 * @example
 * ```ts
 * validateTrainerOptions(options, resolveTrainerConfig(options.config ?? {}));
 * ```
 */
export function validateTrainerOptions<S extends ScenarioLike>(
  options: GrpoTrainerOptions<S>,
  config: GrpoTrainerConfig,
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
  if (config.value.enabled && !options.valueFunction) {
    throw new InvalidArgumentError({
      argument: 'valueFunction',
      value: undefined,
      message: 'is required when config.value.enabled is true',
    });
  }
  if (
    options.optimizer &&
    JSON.stringify(config.optimizer) !== JSON.stringify(defaultConfig.optimizer)
  ) {
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
