import {
  type AdvantageEstimator,
  InvalidArgumentError,
  type KlEstimator,
  type Objective,
  Random,
  type ReferenceModel,
  type Scenario,
} from '@cohort/core';
import { createKlController, type KlController } from '@cohort/kl';
import type { ObjectiveConfig } from '@cohort/objectives';
import { createOptimizer } from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';
import { type AdvantageStage, criticAdvantageStage, groupAdvantageStage } from './advantage-stage';
import { resolveAlgorithms } from './algorithm-registry';
import { type CriticLearningResult, learnCritic } from './critic-learning-stage';
import { evaluatePolicy } from './evaluation-stage';
import {
  type GrpoTrainerOptions,
  type TrainerEvent,
  validateTrainerOptions,
} from './grpo-trainer-options';
import { createInProcessRolloutSource } from './in-process-rollout-source';
import {
  learnPolicy,
  type PolicyGradientWorkers,
  type PolicyLearningResult,
} from './policy-learning-stage';
import { createPolicyOptimizer } from './policy-optimizer';
import { unshardableReason } from './policy-shard-loss';
import { type ReferenceScores, scoreReference } from './reference-scoring-stage';
import { refreshReference } from './refresh-reference';
import { shapeReturns } from './return-shaping-stage';
import type { ScenarioLike } from './reward-scoring-stage';
import { type RolloutCollection, refuseStaleGroups } from './rollout-collection-stage';
import { checkSourceGroups, type RolloutSource } from './rollout-source';
import { buildStepMetrics, type EvaluationMetrics, type StepMetrics } from './step-metrics';
import type { PolicyOptimizer, TrainablePolicy } from './trainable-policy';
import { type GrpoTrainerConfig, resolveTrainerConfig } from './trainer-config';
import { buildTrajectoryRecords, type TrajectoryRecord } from './trajectory-record';
import {
  TransportRolloutCollector,
  type TransportRolloutsState,
} from './transport-rollout-collection';
import type { TrainableValueFunction } from './value-function';

export type { GrpoTrainerOptions, TrainerEvent } from './grpo-trainer-options';

/** The sampler's own weight version, for a policy that samples on another engine (`OnnxSampledPolicy`). */
function samplerVersionOf(policy: TrainablePolicy): number {
  const { samplerVersion } = policy as { samplerVersion?: unknown };
  return typeof samplerVersion === 'number' ? samplerVersion : policy.version;
}

export type { EvaluationMetrics, StepMetrics } from './step-metrics';

/** What one step produced: its metrics and one record per trajectory it learned from. */
export interface StepResult {
  metrics: StepMetrics;
  records: TrajectoryRecord[];
  /** Mean of every metric the objective reported, by its own names (a user objective's too). */
  objectiveMetrics: Record<string, number>;
}

/** The trainer's own state, saved in checkpoints next to the weights. */
export interface GrpoTrainerState {
  step: number;
  episodes: number;
  random: ReturnType<Random['getState']>;
  klController: ReturnType<KlController['getState']>;
  systemPrompt?: string;
  policyVersion: number;
  /** Rollouts over a transport: its stream positions and the tasks handed out ahead. */
  rollouts?: TransportRolloutsState;
}

/**
 * GRPO and its relatives for token-level policies over multi-turn
 * conversations, as a pipeline of stages that meet through records:
 * rollout collection -> (staleness bound) -> reference scoring -> return
 * shaping -> advantage estimation -> critic learning (PPO) -> policy
 * learning -> reference refresh -> metrics. PPO mode is the critic's
 * advantage stage and the critic-learning stage, not a branch.
 *
 * A non-finite loss or gradient skips the update and is reported; it never
 * reaches the weights.
 *
 * @example
 * ```ts
 * const trainer = new GrpoTrainer({ policy, referenceModel, environment,
 *   trainScenarios, rewards: [{ reward: goalCompletionReward(), weight: 1 }], config: { steps: 20 } });
 * for (let step = 0; step < 20; step++) console.log((await trainer.step()).rewardMean);
 * ```
 */
export class GrpoTrainer<S extends ScenarioLike = Scenario> {
  readonly config: GrpoTrainerConfig;
  readonly policy: TrainablePolicy;
  readonly referenceModel: ReferenceModel | undefined;
  readonly optimizer: PolicyOptimizer;
  readonly valueFunction: TrainableValueFunction | undefined;
  readonly valueOptimizer: PolicyOptimizer | undefined;
  readonly advantageEstimator: AdvantageEstimator;
  readonly objective: Objective<tf.Tensor>;
  /** The one KL estimator of the loss term, the KL in the reward and the `klToReference` metric. */
  readonly klEstimator: KlEstimator<tf.Tensor>;
  systemPrompt: string | undefined;
  private readonly options: GrpoTrainerOptions<S>;
  private readonly advantageStage: AdvantageStage;
  private readonly workers: PolicyGradientWorkers | undefined;
  private readonly pendingWarnings: string[] = [];
  private readonly listeners = new Set<(event: TrainerEvent) => void>();
  /** Set when rollouts run on workers over a transport. */
  readonly rolloutCollector: TransportRolloutCollector<S> | undefined;
  /** Where training rollouts come from: the given source, the transport's workers, or this process. */
  readonly rolloutSource: RolloutSource<S>;
  private klController: KlController;
  private random: Random;
  private stepIndex = 0;
  private episodeCount = 0;

  constructor(options: GrpoTrainerOptions<S>) {
    // A parsed config parses to itself, so configs from resolveTrainerConfig pass through unchanged.
    const config = resolveTrainerConfig(options.config ?? {});
    this.config = config;
    const warn = (message: string) => this.pendingWarnings.push(message);
    validateTrainerOptions(options, config, warn);
    this.options = options;
    this.policy = options.policy;
    this.referenceModel = options.referenceModel;
    this.optimizer =
      options.optimizer ??
      createPolicyOptimizer({ config, variables: options.policy.namedVariables(), warn });
    this.valueFunction = options.valueFunction;
    this.valueOptimizer =
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
    this.advantageEstimator = algorithms.advantageEstimator;
    this.objective = algorithms.objective;
    this.klEstimator = algorithms.klEstimator;
    this.advantageStage =
      config.value.enabled && options.valueFunction
        ? criticAdvantageStage({
            valueFunction: options.valueFunction,
            gamma: config.value.gamma,
            lambda: config.value.lambda,
            minibatchSize: config.minibatchSize,
          })
        : groupAdvantageStage(algorithms.advantageEstimator);
    this.workers = this.policyGradientWorkers(options, algorithms.objectiveConfig, warn);
    this.systemPrompt = options.systemPrompt;
    this.klController = createKlController(config.kl.controller);
    this.random = new Random(config.seed);
    this.rolloutCollector =
      options.rollouts === undefined ? undefined : new TransportRolloutCollector(options.rollouts);
    this.rolloutSource =
      options.rolloutSource ??
      this.rolloutCollector ??
      createInProcessRolloutSource({
        // validateTrainerOptions made sure there is one when no source is given.
        environment: options.environment!,
        rewards: options.rewards,
      });
    if (this.rolloutCollector?.options.mode === 'asynchronous' && config.maxPolicyLag === 0) {
      warn(
        'rollouts.mode is asynchronous but maxPolicyLag is 0: every group sampled ahead is stale and dropped; set maxPolicyLag to the updates per step times rollouts.stepsAhead',
      );
    }
  }

  /** The data-parallel learner of the policy-learning stage, when it can be used (else a warning says why not). */
  private policyGradientWorkers(
    options: GrpoTrainerOptions<S>,
    objectiveConfig: ObjectiveConfig | undefined,
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

  /** Steps taken so far. */
  get currentStep(): number {
    return this.stepIndex;
  }

  /** Whether held-out scenarios were given, so that {@link evaluate} can run without arguments. */
  get hasEvaluationScenarios(): boolean {
    return (this.options.evalScenarios?.length ?? 0) > 0;
  }

  /** The training scenarios (for fitness sets drawn from them). */
  get trainingScenarios(): readonly S[] {
    return this.options.trainScenarios;
  }

  /** Training episodes run so far. */
  get episodes(): number {
    return this.episodeCount;
  }

  /** Adds a listener of the trainer's events; returns a function that removes it. */
  subscribe(listener: (event: TrainerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: TrainerEvent): void {
    this.options.onEvent?.(event);
    for (const listener of this.listeners) listener(event);
  }

  private warn(message: string): void {
    this.emit({ type: 'warning', step: this.stepIndex, message });
  }

  private generationOptions(temperature = this.config.generation.temperature) {
    const { tokenizer } = this.policy;
    return {
      maxNewTokens: this.config.generation.maxNewTokens,
      temperature,
      topK: this.config.generation.topK,
      topP: this.config.generation.topP,
      stopTokenIds: [tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId],
    };
  }

  /** One training step: rollouts, advantages, updates. */
  async step(): Promise<StepMetrics> {
    return (await this.stepWithRecords()).metrics;
  }

  /** One training step, with a {@link TrajectoryRecord} per trajectory learned from. */
  async stepWithRecords(): Promise<StepResult> {
    const { config } = this;
    const warn = (message: string) => this.warn(message);
    for (const message of this.pendingWarnings.splice(0)) warn(message);
    const stepStart = performance.now();
    const collection: RolloutCollection = await this.rolloutSource.collect({
      step: this.stepIndex,
      label: `s${this.stepIndex}`,
      scenarioPool: this.options.trainScenarios,
      random: this.random,
      scenariosPerStep: config.scenariosPerStep,
      groupSize: config.groupSize,
      policy: this.policy,
      currentVersion: this.policy.version,
      maxPolicyLag: config.maxPolicyLag,
      generation: this.generationOptions(),
      ...(this.systemPrompt === undefined ? {} : { systemPrompt: this.systemPrompt }),
      maxSequenceLength: config.maxSequenceLength,
      zeroSpreadTolerance: config.advantage.zeroSpreadTolerance,
      dynamicSampling: config.dynamicSampling,
      warn,
    });
    checkSourceGroups({
      kind: this.rolloutSource.kind,
      groups: collection.groups,
      groupSize: config.groupSize,
    });
    this.episodeCount += collection.episodes;
    for (const failure of collection.failures)
      this.emit({ type: 'reward-failure', step: this.stepIndex, failure });
    this.emit({ type: 'rollouts', step: this.stepIndex, groups: collection.groups });

    const { kept: groups, refused } = refuseStaleGroups({
      groups: collection.groups,
      currentVersion: this.policy.version,
      maxPolicyLag: config.maxPolicyLag,
    });
    if (refused.length > 0) {
      warn(
        `refused ${refused.length} groups sampled more than ${config.maxPolicyLag} versions ago`,
      );
    }
    const trajectories = groups.flatMap((group) => group.trajectories);

    const referenceStart = performance.now();
    if (this.policy.prepare && trajectories.length > 0) {
      await this.policy.prepare({
        sequences: trajectories.map((trajectory) => trajectory.tokenIds),
      });
    }
    const klCoefficient = this.klController.coefficient;
    const klActive = klCoefficient > 0 || config.kl.controller.type === 'adaptive';
    const reference: ReferenceScores =
      this.referenceModel && klActive
        ? await scoreReference({
            referenceModel: this.referenceModel,
            trajectories,
            temperature: config.generation.temperature,
            estimator: this.klEstimator,
          })
        : { klPerToken: [], klSumPerTrajectory: [], klToReference: 0 };
    const referenceSeconds = (performance.now() - referenceStart) / 1000;

    const returns = shapeReturns({
      trajectories,
      klSumPerTrajectory: reference.klSumPerTrajectory,
      klCoefficient,
      placement: config.kl.placement,
    });

    const updateStart = performance.now();
    const advantages = this.advantageStage.estimate({
      trajectories,
      returns,
      groupSize: config.groupSize,
    });
    let critic: CriticLearningResult | undefined;
    if (advantages.criticTargets && this.valueFunction && this.valueOptimizer) {
      critic = learnCritic({
        valueFunction: this.valueFunction,
        optimizer: this.valueOptimizer,
        trajectories,
        criticTargets: advantages.criticTargets,
        epochs: config.epochs,
        minibatchSize: config.minibatchSize,
        ...(config.value.clipRange === undefined ? {} : { clipRange: config.value.clipRange }),
        random: this.random,
        warn,
      });
    }
    let policy: PolicyLearningResult | undefined;
    if (trajectories.length === 0) {
      warn('no group with a reward spread: update skipped');
    } else {
      policy = await learnPolicy({
        policy: this.policy,
        optimizer: this.optimizer,
        objective: this.objective,
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
        random: this.random,
        recomputeBehaviorLogProbs: config.behaviorLogProbs === 'recompute',
        ...(this.workers ? { workers: this.workers } : {}),
        warn,
      });
    }
    const updateSeconds = (performance.now() - updateStart) / 1000;

    if (config.kl.controller.type === 'adaptive' && reference.klSumPerTrajectory.length > 0) {
      this.klController.update(reference.klToReference, trajectories.length);
    }
    this.stepIndex++;
    refreshReference({
      ...config.referenceRefresh,
      step: this.stepIndex,
      policy: this.policy,
      referenceModel: this.referenceModel,
    });

    const records = buildTrajectoryRecords({
      groups,
      returns,
      advantagesPerToken: advantages.advantagesPerToken,
      klPerToken: reference.klPerToken,
      entropyPerToken: policy?.entropyPerToken ?? [],
      learnerVersion: this.policy.version,
    });
    const metrics = buildStepMetrics({
      step: this.stepIndex,
      episodes: this.episodeCount,
      trajectories,
      collection,
      staleGroups: refused.length + (collection.staleGroups ?? 0),
      klToReference: reference.klToReference,
      klCoefficient: this.klController.coefficient,
      policy,
      critic,
      policyVersion: this.policy.version,
      samplerVersion: samplerVersionOf(this.policy),
      timings: { reference: referenceSeconds, update: updateSeconds },
      stepSeconds: (performance.now() - stepStart) / 1000,
    });
    this.emit({ type: 'trajectory-records', step: this.stepIndex, records });
    this.emit({ type: 'step', metrics });
    return { metrics, records, objectiveMetrics: policy?.objectiveMetrics ?? {} };
  }

  /**
   * Runs the held-out scenarios with a fixed seed (greedy by default), so that
   * evaluations at different steps are comparable.
   */
  async evaluate(
    options: { scenarios?: readonly S[]; systemPrompt?: string; emit?: boolean } = {},
  ): Promise<EvaluationMetrics> {
    const systemPrompt = options.systemPrompt ?? this.systemPrompt;
    const environment = this.options.environment;
    if (!environment) {
      throw new InvalidArgumentError({
        argument: 'environment',
        value: undefined,
        message: `is needed to evaluate in process; rollouts come from the ${this.options.rolloutSource?.kind} source, so evaluate through it`,
      });
    }
    const metrics = await evaluatePolicy({
      policy: this.policy,
      environment,
      rewards: this.options.rewards,
      scenarios: options.scenarios ?? this.options.evalScenarios ?? [],
      evaluation: this.config.evaluation,
      generation: this.generationOptions(this.config.evaluation.temperature),
      ...(systemPrompt === undefined ? {} : { systemPrompt }),
      maxSequenceLength: this.config.maxSequenceLength,
      step: this.stepIndex,
    });
    if (options.emit ?? true) this.emit({ type: 'evaluation', metrics });
    return metrics;
  }

  /** The trainer's state for a checkpoint (weights and optimizer are saved by the caller). */
  getState(): GrpoTrainerState {
    return {
      step: this.stepIndex,
      episodes: this.episodeCount,
      random: this.random.getState(),
      klController: this.klController.getState(),
      ...(this.systemPrompt === undefined ? {} : { systemPrompt: this.systemPrompt }),
      policyVersion: this.policy.version,
      ...(this.rolloutCollector === undefined
        ? {}
        : { rollouts: this.rolloutCollector.getState() }),
    };
  }

  /** Restores {@link getState}'s output, so that a resumed run continues exactly. */
  setState(state: GrpoTrainerState): void {
    this.stepIndex = state.step;
    this.episodeCount = state.episodes;
    this.random = Random.fromState(state.random);
    this.klController = createKlController(this.config.kl.controller);
    this.klController.setState(state.klController);
    this.systemPrompt = state.systemPrompt;
    this.policy.version = state.policyVersion;
    if (this.rolloutCollector && state.rollouts) this.rolloutCollector.setState(state.rollouts);
  }
}
