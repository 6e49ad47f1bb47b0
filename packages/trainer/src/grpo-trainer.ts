import {
  type AdvantageEstimator,
  InvalidArgumentError,
  type KlEstimator,
  type Objective,
  Random,
  type ReferenceModel,
  type Scenario,
  type Trajectory,
} from '@cohort/core';
import { createKlController, type KlController } from '@cohort/kl';
import type * as tf from '@tensorflow/tfjs';
import { evaluatePolicy } from './evaluation-stage';
import {
  type GrpoTrainerOptions,
  type TrainerEvent,
  validateTrainerOptions,
} from './grpo-trainer-options';
import { createGrpoTrainerStages, type GrpoTrainerStages } from './grpo-trainer-stages';
import { type GrpoTrainingOptions, resolveTrainingOptions } from './grpo-training-options';
import { scoreStepReference } from './reference-scoring-stage';
import { refreshReference } from './refresh-reference';
import { shapeReturns } from './return-shaping-stage';
import type { ScenarioLike } from './reward-scoring-stage';
import { refuseStaleGroups, rolloutGeneration } from './rollout-collection-stage';
import { checkSourceGroups, type RolloutSource } from './rollout-source';
import {
  buildStepMetrics,
  type EvaluationMetrics,
  type StepMetrics,
  type StepResult,
  samplerVersionOf,
} from './step-metrics';
import type { PolicyOptimizer, TrainablePolicy } from './trainable-policy';
import { buildTrajectoryRecords } from './trajectory-record';
import type {
  TransportRolloutCollector,
  TransportRolloutsState,
} from './transport-rollout-collection';
import type { TrainableValueFunction } from './value-function';

export type { GrpoTrainerOptions, TrainerEvent } from './grpo-trainer-options';
export type { EvaluationMetrics, StepMetrics, StepResult } from './step-metrics';

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
 * learning -> reference refresh -> metrics. The stages are chosen once
 * ({@link createGrpoTrainerStages}); PPO mode is the critic's advantage stage
 * and the critic-learning stage, not a branch.
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
  readonly config: GrpoTrainingOptions;
  readonly policy: TrainablePolicy;
  readonly referenceModel: ReferenceModel | undefined;
  readonly valueFunction: TrainableValueFunction | undefined;
  systemPrompt: string | undefined;
  /** The stages this trainer runs, with the optimizers and algorithm instances they use. */
  readonly stages: GrpoTrainerStages<S>;
  private readonly options: GrpoTrainerOptions<S>;
  private readonly pendingWarnings: string[] = [];
  private readonly listeners = new Set<(event: TrainerEvent) => void>();
  private klController: KlController;
  private random: Random;
  private stepIndex = 0;
  private episodeCount = 0;

  constructor(options: GrpoTrainerOptions<S>) {
    // A parsed config parses to itself, so configs from resolveTrainingOptions pass through unchanged.
    const config = resolveTrainingOptions(options.config ?? {});
    const warn = (message: string) => this.pendingWarnings.push(message);
    validateTrainerOptions(options, config, warn);
    this.options = options;
    this.config = config;
    this.policy = options.policy;
    this.referenceModel = options.referenceModel;
    this.valueFunction = options.valueFunction;
    this.stages = createGrpoTrainerStages({ options, config, warn });
    this.systemPrompt = options.systemPrompt;
    this.klController = createKlController(config.kl.controller);
    this.random = new Random(config.seed);
  }

  get optimizer(): PolicyOptimizer {
    return this.stages.optimizer;
  }
  get valueOptimizer(): PolicyOptimizer | undefined {
    return this.stages.valueOptimizer;
  }
  get advantageEstimator(): AdvantageEstimator {
    return this.stages.advantageEstimator;
  }
  get objective(): Objective<tf.Tensor> {
    return this.stages.objective;
  }
  /** The one KL estimator of the loss term, the KL in the reward and the `klToReference` metric. */
  get klEstimator(): KlEstimator<tf.Tensor> {
    return this.stages.klEstimator;
  }
  /** Set when rollouts run on workers over a transport. */
  get rolloutCollector(): TransportRolloutCollector<S> | undefined {
    return this.stages.rolloutCollector;
  }
  /** Where training rollouts come from: the given source, the transport's workers, or this process. */
  get rolloutSource(): RolloutSource<S> {
    return this.stages.rolloutSource;
  }
  /** Steps taken so far. */
  get currentStep(): number {
    return this.stepIndex;
  }
  /** Whether held-out scenarios were given, so that {@link evaluate} can run without arguments. */
  get hasEvaluationScenarios(): boolean {
    return (this.options.evalScenarios?.length ?? 0) > 0;
  }
  /** The data-parallel (or sequential shard) learner the policy's gradients are computed on, if any. */
  get dataParallel(): GrpoTrainerOptions<S>['dataParallel'] {
    return this.options.dataParallel;
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

  /** One training step: rollouts, advantages, updates. */
  async step(): Promise<StepMetrics> {
    return (await this.stepWithRecords()).metrics;
  }

  /** One training step, with a {@link TrajectoryRecord} per trajectory learned from. */
  async stepWithRecords(): Promise<StepResult> {
    const { config, policy, stages, random } = this;
    const step = this.stepIndex;
    const warn = (message: string) => this.emit({ type: 'warning', step, message });
    for (const message of this.pendingWarnings.splice(0)) warn(message);
    const stepStart = performance.now();
    const collection = await stages.rolloutSource.collect({
      step,
      label: `s${step}`,
      scenarioPool: this.options.trainScenarios,
      random,
      scenariosPerStep: config.scenariosPerStep,
      groupSize: config.groupSize,
      policy,
      currentVersion: policy.version,
      maxPolicyLag: config.maxPolicyLag,
      generation: rolloutGeneration({ generation: config.generation, tokenizer: policy.tokenizer }),
      ...(this.systemPrompt === undefined ? {} : { systemPrompt: this.systemPrompt }),
      maxSequenceLength: config.maxSequenceLength,
      zeroSpreadTolerance: config.advantage.zeroSpreadTolerance,
      dynamicSampling: config.dynamicSampling,
      warn,
    });
    const { kind } = stages.rolloutSource;
    checkSourceGroups({ kind, groups: collection.groups, groupSize: config.groupSize });
    this.episodeCount += collection.episodes;
    for (const failure of collection.failures) this.emit({ type: 'reward-failure', step, failure });
    this.emit({ type: 'rollouts', step, groups: collection.groups });
    const { kept: groups, refused } = refuseStaleGroups({
      groups: collection.groups,
      currentVersion: policy.version,
      maxPolicyLag: config.maxPolicyLag,
      warn,
    });
    const trajectories = groups.flatMap((group) => group.trajectories);

    const klCoefficient = this.klController.coefficient;
    const adaptive = config.kl.controller.type === 'adaptive';
    const { scores: reference, seconds: referenceSeconds } = await scoreStepReference({
      policy,
      referenceModel: this.referenceModel,
      trajectories,
      klActive: klCoefficient > 0 || adaptive,
      temperature: config.generation.temperature,
      estimator: stages.klEstimator,
    });
    const { klSumPerTrajectory } = reference;
    const { placement } = config.kl;
    const returns = shapeReturns({ trajectories, klSumPerTrajectory, klCoefficient, placement });

    const updateStart = performance.now();
    const { groupSize } = config;
    const advantages = stages.advantageStage.estimate({ trajectories, returns, groupSize });
    const critic = stages.learnCritic?.({ trajectories, advantages, random, warn });
    if (trajectories.length === 0) warn('no group with a reward spread: update skipped');
    const learned =
      trajectories.length === 0
        ? undefined
        : await stages.learnPolicy({
            trajectories,
            advantages,
            reference,
            klCoefficient,
            random,
            warn,
          });
    const updateSeconds = (performance.now() - updateStart) / 1000;

    if (adaptive && klSumPerTrajectory.length > 0) {
      this.klController.update(reference.klToReference, trajectories.length);
    }
    this.stepIndex++;
    const { referenceModel } = this;
    refreshReference({ ...config.referenceRefresh, step: this.stepIndex, policy, referenceModel });

    const records = buildTrajectoryRecords({
      groups,
      returns,
      advantagesPerToken: advantages.advantagesPerToken,
      klPerToken: reference.klPerToken,
      entropyPerToken: learned?.entropyPerToken ?? [],
      learnerVersion: policy.version,
    });
    const metrics = buildStepMetrics({
      step: this.stepIndex,
      episodes: this.episodeCount,
      trajectories,
      collection,
      staleGroups: refused.length + (collection.staleGroups ?? 0),
      klToReference: reference.klToReference,
      klCoefficient: this.klController.coefficient,
      policy: learned,
      critic,
      policyVersion: policy.version,
      samplerVersion: samplerVersionOf(policy),
      timings: { reference: referenceSeconds, update: updateSeconds },
      stepSeconds: (performance.now() - stepStart) / 1000,
    });
    this.emit({ type: 'trajectory-records', step: this.stepIndex, records });
    this.emit({ type: 'step', metrics });
    return { metrics, records, objectiveMetrics: learned?.objectiveMetrics ?? {} };
  }

  /**
   * Runs the held-out scenarios with a fixed seed (greedy by default), so that
   * evaluations at different steps are comparable. `temperature` replaces
   * `evaluation.temperature` for this call (a population scores each member
   * at its own sampling temperature, on the same seed).
   *
   * @throws InvalidArgumentError naming `temperature` when it is negative or not finite.
   */
  async evaluate(
    options: {
      scenarios?: readonly S[];
      systemPrompt?: string;
      emit?: boolean;
      temperature?: number;
      /** Receives every evaluation trajectory (for a judge that ranks them). */
      onTrajectories?: (trajectories: readonly Trajectory[]) => void;
    } = {},
  ): Promise<EvaluationMetrics> {
    const systemPrompt = options.systemPrompt ?? this.systemPrompt;
    const { environment } = this.options;
    if (!environment) {
      throw new InvalidArgumentError({
        argument: 'environment',
        value: undefined,
        message: `is needed to evaluate in process; rollouts come from the ${this.options.rolloutSource?.kind} source, so evaluate through it`,
      });
    }
    const { generation, evaluation } = this.config;
    const temperature = options.temperature ?? evaluation.temperature;
    if (!Number.isFinite(temperature) || temperature < 0) {
      throw new InvalidArgumentError({
        argument: 'temperature',
        value: temperature,
        message: 'must be a finite number >= 0 (0: greedy)',
      });
    }
    const metrics = await evaluatePolicy({
      policy: this.policy,
      environment,
      rewards: this.options.rewards,
      scenarios: options.scenarios ?? this.options.evalScenarios ?? [],
      evaluation,
      generation: rolloutGeneration({
        generation,
        tokenizer: this.policy.tokenizer,
        temperature,
      }),
      ...(systemPrompt === undefined ? {} : { systemPrompt }),
      maxSequenceLength: this.config.maxSequenceLength,
      step: this.stepIndex,
      ...(options.onTrajectories ? { onTrajectories: options.onTrajectories } : {}),
    });
    if (options.emit ?? true) this.emit({ type: 'evaluation', metrics });
    return metrics;
  }

  /** The trainer's state for a checkpoint (weights and optimizer are saved by the caller). */
  getState(): GrpoTrainerState {
    const collector = this.stages.rolloutCollector;
    return {
      step: this.stepIndex,
      episodes: this.episodeCount,
      random: this.random.getState(),
      klController: this.klController.getState(),
      ...(this.systemPrompt === undefined ? {} : { systemPrompt: this.systemPrompt }),
      policyVersion: this.policy.version,
      ...(collector === undefined ? {} : { rollouts: collector.getState() }),
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
    if (this.stages.rolloutCollector && state.rollouts)
      this.stages.rolloutCollector.setState(state.rollouts);
  }
}
