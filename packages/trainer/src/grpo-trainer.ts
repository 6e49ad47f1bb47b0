import { createAdvantageEstimator } from '@cohort/advantages';
import {
  type Environment,
  InvalidArgumentError,
  NonFiniteError,
  Random,
  type ReferenceModel,
  type Scenario,
  type Trajectory,
  type TrajectoryGroup,
} from '@cohort/core';
import { createKlController, type KlController, klPerToken, mixReferenceWeights } from '@cohort/kl';
import { createObjective } from '@cohort/objectives';
import { valueLoss } from '@cohort/value';
import * as tf from '@tensorflow/tfjs';
import {
  type RewardFailure,
  rolloutGroups,
  type ScenarioLike,
  type WeightedReward,
} from './rollout';
import { summarize } from './statistics';
import { isRefreshable, type PolicyOptimizer, type TrainablePolicy } from './trainable-policy';
import {
  type GrpoTrainerConfig,
  type GrpoTrainerConfigInput,
  resolveTrainerConfig,
} from './trainer-config';
import { buildTrajectoryBatch, sequenceAdvantagesToTokens } from './trajectory-batch';
import { type TurnTargets, turnLevelAdvantages, turnTargets } from './turn-advantages';
import type { TrainableValueFunction } from './value-function';

/** Numbers reported after each training step. */
export interface StepMetrics {
  step: number;
  episodes: number;
  rewardMean: number;
  rewardStd: number;
  /** Mean (over trajectories where it applied) of each reward function. */
  rewardMeanByFunction: Record<string, number>;
  successRate: number;
  zeroSpreadGroupFraction: number;
  droppedGroups: number;
  refills: number;
  klToReference: number;
  klCoefficient: number;
  entropy: number;
  clipFractionLow: number;
  clipFractionHigh: number;
  approxKlToOld: number;
  loss: number;
  gradNorm: number;
  learningRate: number;
  skippedUpdates: number;
  appliedUpdates: number;
  completionLengthMean: number;
  completionLengthMax: number;
  truncatedFraction: number;
  sampledTokens: number;
  tokensPerSecond: number;
  stepSeconds: number;
  timings: { rollout: number; scoring: number; reference: number; update: number };
  rewardFailures: number;
  /** PPO mode: the value loss and its clip fraction (0 otherwise). */
  valueLoss: number;
  valueClipFraction: number;
  policyVersion: number;
}

/** Held-out evaluation results. */
export interface EvaluationMetrics {
  step: number;
  episodes: number;
  rewardMean: number;
  rewardStd: number;
  successRate: number;
  rewardMeanByFunction: Record<string, number>;
  /** A few conversations, for reports. */
  samples: {
    scenarioId: string;
    reward: number;
    endReason: string;
    messages: Trajectory['messages'];
  }[];
}

/** Events a trainer emits for progress bars, logs and reports. */
export type TrainerEvent =
  | { type: 'step'; metrics: StepMetrics }
  | { type: 'evaluation'; metrics: EvaluationMetrics }
  | { type: 'warning'; step: number; message: string }
  | { type: 'reward-failure'; step: number; failure: RewardFailure }
  | { type: 'rollouts'; step: number; groups: TrajectoryGroup[] };

/** Options of {@link GrpoTrainer}. */
export interface GrpoTrainerOptions<S extends ScenarioLike = Scenario> {
  policy: TrainablePolicy;
  optimizer: PolicyOptimizer;
  /** The frozen reference of the KL term; required when the KL coefficient can be non-zero. */
  referenceModel?: ReferenceModel;
  environment: Environment<S>;
  trainScenarios: readonly S[];
  evalScenarios?: readonly S[];
  rewards: readonly WeightedReward<S>[];
  config?: GrpoTrainerConfigInput | GrpoTrainerConfig;
  systemPrompt?: string;
  onEvent?: (event: TrainerEvent) => void;
  /** The critic of PPO mode (`config.value.enabled`), with its own optimizer. */
  valueFunction?: TrainableValueFunction;
  valueOptimizer?: PolicyOptimizer;
}

/** The trainer's own state, saved in checkpoints next to the weights. */
export interface GrpoTrainerState {
  step: number;
  episodes: number;
  random: ReturnType<Random['getState']>;
  klController: ReturnType<KlController['getState']>;
  systemPrompt?: string;
  policyVersion: number;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * GRPO and its relatives for token-level policies over multi-turn
 * conversations. Each step draws scenarios, runs a group of G episodes per
 * scenario, scores them, turns returns into advantages with the configured
 * estimator, and takes `epochs` passes of minibatch updates with the
 * configured objective, KL and entropy terms.
 *
 * A non-finite loss or gradient skips the update and is reported; it never
 * reaches the weights.
 *
 * @example
 * ```ts
 * const trainer = new GrpoTrainer({ policy, optimizer, referenceModel, environment,
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
  systemPrompt: string | undefined;
  private readonly options: GrpoTrainerOptions<S>;
  private readonly estimator;
  private readonly objective;
  private klController: KlController;
  private random: Random;
  private stepIndex = 0;
  private episodeCount = 0;

  constructor(options: GrpoTrainerOptions<S>) {
    // A parsed config parses to itself, so configs from resolveTrainerConfig pass through unchanged.
    this.config = resolveTrainerConfig(options.config ?? {});
    if (options.trainScenarios.length === 0) {
      throw new InvalidArgumentError({
        argument: 'trainScenarios',
        value: [],
        message: 'needs at least one scenario',
      });
    }
    const klCanBeNonZero =
      this.config.kl.controller.type === 'adaptive' || this.config.kl.controller.coefficient > 0;
    if (klCanBeNonZero && !options.referenceModel) {
      throw new InvalidArgumentError({
        argument: 'referenceModel',
        value: undefined,
        message: 'is required when the KL coefficient can be non-zero (kl.controller)',
      });
    }
    if (
      this.config.referenceRefresh.mode !== 'none' &&
      options.referenceModel &&
      !isRefreshable(options.referenceModel)
    ) {
      throw new InvalidArgumentError({
        argument: 'config.referenceRefresh.mode',
        value: this.config.referenceRefresh.mode,
        message:
          'needs a reference model with getWeights/setWeights (a frozen copy, not a fixed base model)',
      });
    }
    this.options = options;
    this.policy = options.policy;
    this.optimizer = options.optimizer;
    this.referenceModel = options.referenceModel;
    this.valueFunction = options.valueFunction;
    this.valueOptimizer = options.valueOptimizer;
    if (this.config.value.enabled && (!options.valueFunction || !options.valueOptimizer)) {
      throw new InvalidArgumentError({
        argument: 'valueFunction',
        value: options.valueFunction === undefined ? undefined : 'given',
        message: 'config.value.enabled needs both valueFunction and valueOptimizer',
      });
    }
    this.systemPrompt = options.systemPrompt;
    this.estimator = createAdvantageEstimator(this.config.advantage);
    this.objective = createObjective(this.config.objective);
    this.klController = createKlController(this.config.kl.controller);
    this.random = new Random(this.config.seed);
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

  private readonly listeners = new Set<(event: TrainerEvent) => void>();

  /** Adds a listener of the trainer's events; returns a function that removes it. */
  subscribe(listener: (event: TrainerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: TrainerEvent): void {
    this.options.onEvent?.(event);
    for (const listener of this.listeners) listener(event);
  }

  private generationOptions(temperature = this.config.generation.temperature) {
    const { tokenizer } = this.policy;
    const stopTokenIds = [tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId];
    return {
      maxNewTokens: this.config.generation.maxNewTokens,
      temperature,
      topK: this.config.generation.topK,
      topP: this.config.generation.topP,
      stopTokenIds,
    };
  }

  private drawScenarios(count: number): S[] {
    const pool = this.options.trainScenarios;
    if (count <= pool.length) return this.random.sample(pool, count);
    return Array.from({ length: count }, () => this.random.choice(pool));
  }

  /** Runs rollouts (refilling zero-spread groups under dynamic sampling). */
  private async collectGroups(): Promise<{
    groups: TrajectoryGroup[];
    zeroSpreadGroupFraction: number;
    droppedGroups: number;
    refills: number;
    sampledTokens: number;
    timings: { rollout: number; scoring: number };
    failures: RewardFailure[];
  }> {
    const { scenariosPerStep, groupSize, dynamicSampling } = this.config;
    const kept: TrajectoryGroup[] = [];
    const failures: RewardFailure[] = [];
    let droppedGroups = 0;
    let seenGroups = 0;
    let zeroSpreadGroups = 0;
    let refills = 0;
    let sampledTokens = 0;
    const timings = { rollout: 0, scoring: 0 };
    for (let round = 0; ; round++) {
      const needed = scenariosPerStep - kept.length;
      const result = await rolloutGroups({
        policy: this.policy,
        environment: this.options.environment,
        scenarios: this.drawScenarios(needed),
        groupSize,
        seed: this.random.nextUint32(),
        generation: this.generationOptions(),
        rewards: this.options.rewards,
        ...(this.systemPrompt === undefined ? {} : { systemPrompt: this.systemPrompt }),
        maxSequenceLength: this.config.maxSequenceLength,
        label: `s${this.stepIndex}r${round}`,
      });
      failures.push(...result.rewardFailures);
      sampledTokens += result.sampledTokenCount;
      timings.rollout += result.timings.sampling + result.timings.environment;
      timings.scoring += result.timings.rewards;
      this.episodeCount += result.groups.length * groupSize;
      for (const group of result.groups) {
        seenGroups++;
        const totals = group.trajectories.map((trajectory) => trajectory.totalReward);
        const spread = Math.max(...totals) - Math.min(...totals);
        const zeroSpread = spread <= this.config.advantage.zeroSpreadTolerance;
        if (zeroSpread) zeroSpreadGroups++;
        if (zeroSpread && dynamicSampling.enabled) droppedGroups++;
        else kept.push(group);
      }
      if (
        !dynamicSampling.enabled ||
        kept.length >= scenariosPerStep ||
        round >= dynamicSampling.maxRefills
      )
        break;
      refills++;
    }
    return {
      groups: kept,
      zeroSpreadGroupFraction: seenGroups === 0 ? 0 : zeroSpreadGroups / seenGroups,
      droppedGroups,
      refills,
      sampledTokens,
      timings,
      failures,
    };
  }

  /** One training step: rollouts, advantages, updates. */
  async step(): Promise<StepMetrics> {
    const stepStart = performance.now();
    const collected = await this.collectGroups();
    for (const failure of collected.failures)
      this.emit({ type: 'reward-failure', step: this.stepIndex, failure });
    this.emit({ type: 'rollouts', step: this.stepIndex, groups: collected.groups });

    const currentVersion = this.policy.version;
    const groups = collected.groups.filter((group) =>
      group.trajectories.every(
        (trajectory) => currentVersion - trajectory.policyVersion <= this.config.maxPolicyLag,
      ),
    );
    if (groups.length < collected.groups.length) {
      this.emit({
        type: 'warning',
        step: this.stepIndex,
        message: `refused ${collected.groups.length - groups.length} groups sampled more than ${this.config.maxPolicyLag} versions ago`,
      });
    }
    const trajectories = groups.flatMap((group) => group.trajectories);
    const { groupSize } = this.config;

    // Reference log-probs: for the KL term and its metric.
    const referenceStart = performance.now();
    if (this.policy.prepare && trajectories.length > 0) {
      await this.policy.prepare({
        sequences: trajectories.map((trajectory) => trajectory.tokenIds),
      });
    }
    let refLogProbs: number[][] | undefined;
    let klPerTrajectory: number[] = [];
    const beta = this.klController.coefficient;
    if (
      this.referenceModel &&
      trajectories.length > 0 &&
      (beta > 0 || this.config.kl.controller.type === 'adaptive')
    ) {
      refLogProbs = await this.referenceModel.referenceLogProbs({
        sequences: trajectories.map((trajectory) => trajectory.tokenIds),
        temperature: this.config.generation.temperature,
      });
      klPerTrajectory = trajectories.map((trajectory, row) => {
        const masked: number[] = [];
        const reference: number[] = [];
        trajectory.lossMask.forEach((mask, position) => {
          if (mask === 1) {
            masked.push(trajectory.behaviorLogProbs[position]!);
            reference.push(refLogProbs![row]![position]!);
          }
        });
        const perToken = klPerToken({ logProbs: masked, refLogProbs: reference, estimator: 'k1' });
        return perToken.reduce((sum, value) => sum + value, 0);
      });
    }
    const referenceSeconds = (performance.now() - referenceStart) / 1000;

    const returns = trajectories.map((trajectory, index) =>
      this.config.kl.placement === 'reward' && klPerTrajectory.length > 0
        ? trajectory.totalReward - beta * klPerTrajectory[index]!
        : trajectory.totalReward,
    );
    for (const [index, value] of returns.entries()) {
      if (!Number.isFinite(value)) {
        throw new NonFiniteError({
          quantity: `returns[${index}]`,
          value,
          context: `trajectory ${trajectories[index]!.id}`,
        });
      }
    }

    const updateStart = performance.now();
    let valueMetrics = { loss: 0, clipFraction: 0 };
    let advantagesPerToken: number[][];
    if (this.config.value.enabled && trajectories.length > 0) {
      const targets = trajectories.map((trajectory, index) =>
        turnTargets(trajectory, returns[index]! - trajectory.totalReward),
      );
      const oldValues = this.stateValues(trajectories, targets);
      const gae = turnLevelAdvantages({
        trajectories,
        values: oldValues,
        targets,
        gamma: this.config.value.gamma,
        lambda: this.config.value.lambda,
      });
      advantagesPerToken = gae.advantagesPerToken;
      valueMetrics = this.updateValueFunction({
        trajectories,
        targets,
        oldValues,
        returnsPerTurn: gae.returnsPerTurn,
      });
    } else {
      advantagesPerToken =
        trajectories.length === 0
          ? []
          : sequenceAdvantagesToTokens(
              trajectories,
              this.estimator.estimate({ rewards: returns, groupSize }).advantages,
            );
    }
    const update =
      trajectories.length === 0
        ? undefined
        : this.update({
            trajectories,
            advantagesPerToken,
            ...(refLogProbs && this.config.kl.placement === 'loss' ? { refLogProbs } : {}),
          });
    const updateSeconds = (performance.now() - updateStart) / 1000;
    if (trajectories.length === 0) {
      this.emit({
        type: 'warning',
        step: this.stepIndex,
        message: 'no group with a reward spread: update skipped',
      });
    }

    const klToReference =
      klPerTrajectory.length === 0
        ? 0
        : mean(
            klPerTrajectory.map(
              (total, row) =>
                total /
                Math.max(
                  1,
                  trajectories[row]!.lossMask.reduce<number>((sum, mask) => sum + mask, 0),
                ),
            ),
          );
    if (this.config.kl.controller.type === 'adaptive' && klPerTrajectory.length > 0) {
      this.klController.update(klToReference, trajectories.length);
    }
    this.stepIndex++;
    this.refreshReference();

    const rewardStats = summarize(trajectories.map((trajectory) => trajectory.totalReward));
    const agentTurns = trajectories.flatMap((trajectory) =>
      trajectory.turns
        .filter((turn) => turn.role === 'assistant')
        .map((turn) => turn.tokenEnd - turn.tokenStart),
    );
    const stepSeconds = (performance.now() - stepStart) / 1000;
    const metrics: StepMetrics = {
      step: this.stepIndex,
      episodes: this.episodeCount,
      rewardMean: rewardStats.mean,
      rewardStd: rewardStats.std,
      rewardMeanByFunction: meanByFunction(trajectories),
      successRate: mean(
        trajectories.map((trajectory) => (trajectory.endReason === 'success' ? 1 : 0)),
      ),
      zeroSpreadGroupFraction: collected.zeroSpreadGroupFraction,
      droppedGroups: collected.droppedGroups,
      refills: collected.refills,
      klToReference,
      klCoefficient: this.klController.coefficient,
      entropy: update?.metrics.entropy ?? 0,
      clipFractionLow: update?.metrics.clipFractionLow ?? 0,
      clipFractionHigh: update?.metrics.clipFractionHigh ?? 0,
      approxKlToOld: update?.metrics.approxKlToOld ?? 0,
      loss: update?.metrics.loss ?? 0,
      gradNorm: update?.gradNorm ?? 0,
      learningRate: update?.learningRate ?? 0,
      skippedUpdates: update?.skipped ?? 0,
      appliedUpdates: update?.applied ?? 0,
      completionLengthMean: mean(agentTurns),
      completionLengthMax: agentTurns.length === 0 ? 0 : Math.max(...agentTurns),
      truncatedFraction: mean(trajectories.map((trajectory) => (trajectory.truncated ? 1 : 0))),
      sampledTokens: collected.sampledTokens,
      tokensPerSecond: collected.sampledTokens / Math.max(1e-9, collected.timings.rollout),
      stepSeconds,
      timings: {
        rollout: collected.timings.rollout,
        scoring: collected.timings.scoring,
        reference: referenceSeconds,
        update: updateSeconds,
      },
      rewardFailures: collected.failures.length,
      valueLoss: valueMetrics.loss,
      valueClipFraction: valueMetrics.clipFraction,
      policyVersion: this.policy.version,
    };
    this.emit({ type: 'step', metrics });
    return metrics;
  }

  /** Minibatch passes over one batch of trajectories. */
  private update(options: {
    trajectories: Trajectory[];
    advantagesPerToken: number[][];
    refLogProbs?: number[][];
  }): {
    metrics: Record<string, number>;
    gradNorm: number;
    learningRate: number;
    skipped: number;
    applied: number;
  } {
    const { trajectories } = options;
    const { epochs, minibatchSize, gradientAccumulationSteps } = this.config;
    const includeInLoss = trajectories.map(
      (trajectory) => !(this.config.maskTruncated && trajectory.truncated),
    );
    const variables = this.policy.trainableVariables();
    const metricSums: Record<string, number> = {};
    let metricCount = 0;
    let skipped = 0;
    let applied = 0;
    let lastGradNorm = 0;
    let lastLearningRate = 0;
    let accumulated: Record<string, tf.Tensor> | undefined;
    let accumulatedCount = 0;

    const flush = () => {
      if (!accumulated) return;
      const gradients = accumulated;
      if (accumulatedCount > 1) {
        for (const name of Object.keys(gradients)) {
          const scaled = tf.div(gradients[name]!, accumulatedCount);
          gradients[name]!.dispose();
          gradients[name] = scaled;
        }
      }
      const result = this.optimizer.applyGradients(gradients);
      for (const gradient of Object.values(gradients)) gradient.dispose();
      accumulated = undefined;
      accumulatedCount = 0;
      lastGradNorm = result.gradNorm;
      lastLearningRate = result.learningRate;
      if (result.skipped) {
        skipped++;
        this.emit({
          type: 'warning',
          step: this.stepIndex,
          message: `non-finite gradient (norm ${result.gradNorm}): update skipped, weights unchanged`,
        });
      } else {
        applied++;
        this.policy.version++;
      }
    };

    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = this.random.shuffle(trajectories.map((_, index) => index));
      for (let start = 0; start < order.length; start += minibatchSize) {
        const rows = order.slice(start, start + minibatchSize);
        const batch = buildTrajectoryBatch({
          trajectories: rows.map((row) => trajectories[row]!),
          advantagesPerToken: rows.map((row) => options.advantagesPerToken[row]!),
          ...(options.refLogProbs
            ? { refLogProbs: rows.map((row) => options.refLogProbs![row]!) }
            : {}),
          includeInLoss: rows.map((row) => includeInLoss[row]!),
        });
        if (!batch.lossMask.some((value) => value > 0)) continue;
        let metrics: Record<string, number> = {};
        const shape: [number, number] = [batch.batchSize, batch.maxLength];
        const { value, grads } = tf.variableGrads(() => {
          const output = this.policy.tokenLogProbs({
            sequences: batch.sequences,
            temperature: this.config.generation.temperature,
            withEntropy: true,
          });
          const result = this.objective.compute(
            {
              logProbs: output.logProbs,
              oldLogProbs: tf.tensor2d(batch.oldLogProbs, shape),
              advantages: tf.tensor2d(batch.advantages, shape),
              lossMask: tf.tensor2d(batch.lossMask, shape),
              ...(batch.refLogProbs ? { refLogProbs: tf.tensor2d(batch.refLogProbs, shape) } : {}),
              ...(output.entropy ? { entropy: output.entropy } : {}),
            },
            { klCoefficient: batch.refLogProbs ? this.klController.coefficient : 0 },
          );
          metrics = result.metrics;
          return result.loss as tf.Scalar;
        }, variables as tf.Variable[]);
        const lossValue = value.dataSync()[0]!;
        value.dispose();
        metrics.loss = lossValue;
        for (const [name, metric] of Object.entries(metrics))
          metricSums[name] = (metricSums[name] ?? 0) + metric;
        metricCount++;
        if (!Number.isFinite(lossValue)) {
          for (const gradient of Object.values(grads)) gradient.dispose();
          skipped++;
          this.emit({
            type: 'warning',
            step: this.stepIndex,
            message: `non-finite loss ${lossValue}: minibatch skipped`,
          });
          continue;
        }
        if (!accumulated) {
          accumulated = grads;
        } else {
          for (const [name, gradient] of Object.entries(grads)) {
            const sum = tf.add(accumulated[name]!, gradient);
            accumulated[name]!.dispose();
            gradient.dispose();
            accumulated[name] = sum;
          }
        }
        accumulatedCount++;
        if (accumulatedCount >= gradientAccumulationSteps) flush();
      }
    }
    flush();
    const metrics: Record<string, number> = {};
    for (const [name, sum] of Object.entries(metricSums))
      metrics[name] = sum / Math.max(1, metricCount);
    return { metrics, gradNorm: lastGradNorm, learningRate: lastLearningRate, skipped, applied };
  }

  /** V at each turn's state, read without gradient: `result[i][k]`. */
  private stateValues(
    trajectories: readonly Trajectory[],
    targets: readonly TurnTargets[],
  ): number[][] {
    const valueFunction = this.options.valueFunction!;
    const result: number[][] = [];
    const { minibatchSize } = this.config;
    for (let start = 0; start < trajectories.length; start += minibatchSize) {
      const rows = trajectories.slice(start, start + minibatchSize);
      const values = tf.tidy(() =>
        valueFunction.values({ sequences: rows.map((trajectory) => trajectory.tokenIds) }),
      );
      const matrix = values.arraySync() as number[][];
      values.dispose();
      rows.forEach((_, offset) => {
        result.push(
          targets[start + offset]!.statePositions.map((position) => matrix[offset]![position]!),
        );
      });
    }
    return result;
  }

  /** PPO value regression to the GAE returns at each turn's state, clipped around the old values when configured. */
  private updateValueFunction(options: {
    trajectories: readonly Trajectory[];
    targets: readonly TurnTargets[];
    oldValues: readonly (readonly number[])[];
    returnsPerTurn: readonly (readonly number[])[];
  }): { loss: number; clipFraction: number } {
    const valueFunction = this.options.valueFunction!;
    const optimizer = this.options.valueOptimizer!;
    const { epochs, minibatchSize } = this.config;
    const variables = valueFunction.trainableVariables() as tf.Variable[];
    let lossSum = 0;
    let clipSum = 0;
    let count = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = this.random.shuffle(options.trajectories.map((_, index) => index));
      for (let start = 0; start < order.length; start += minibatchSize) {
        const rows = order.slice(start, start + minibatchSize);
        const maxLength = Math.max(
          1,
          ...rows.map((row) => options.trajectories[row]!.tokenIds.length),
        );
        const size = rows.length * maxLength;
        const mask = new Float32Array(size);
        const targetReturns = new Float32Array(size);
        const previous = new Float32Array(size);
        rows.forEach((row, offset) => {
          options.targets[row]!.statePositions.forEach((position, turn) => {
            const index = offset * maxLength + position;
            mask[index] = 1;
            targetReturns[index] = options.returnsPerTurn[row]![turn]!;
            previous[index] = options.oldValues[row]![turn]!;
          });
        });
        if (!mask.some((value) => value > 0)) continue;
        const shape: [number, number] = [rows.length, maxLength];
        let clipFraction = 0;
        const { value, grads } = tf.variableGrads(() => {
          const result = valueLoss({
            values: valueFunction.values({
              sequences: rows.map((row) => options.trajectories[row]!.tokenIds),
            }),
            oldValues: tf.tensor2d(previous, shape),
            returns: tf.tensor2d(targetReturns, shape),
            mask: tf.tensor2d(mask, shape),
            ...(this.config.value.clipRange === undefined
              ? {}
              : { clipRange: this.config.value.clipRange }),
            checkInputs: false,
          });
          clipFraction = result.metrics.clipFraction;
          return result.loss;
        }, variables);
        const loss = value.dataSync()[0]!;
        value.dispose();
        if (Number.isFinite(loss)) {
          const step = optimizer.applyGradients(grads);
          if (step.skipped) {
            this.emit({
              type: 'warning',
              step: this.stepIndex,
              message: 'non-finite value gradient: value update skipped',
            });
          }
        } else {
          this.emit({
            type: 'warning',
            step: this.stepIndex,
            message: `non-finite value loss ${loss}: skipped`,
          });
        }
        tf.dispose(Object.values(grads));
        lossSum += loss;
        clipSum += clipFraction;
        count++;
      }
    }
    return {
      loss: count === 0 ? 0 : lossSum / count,
      clipFraction: count === 0 ? 0 : clipSum / count,
    };
  }

  private refreshReference(): void {
    const { mode, everySteps, alpha } = this.config.referenceRefresh;
    if (mode === 'none' || !this.referenceModel || this.stepIndex % everySteps !== 0) return;
    if (!isRefreshable(this.referenceModel)) return;
    const policyWeights = this.policy.getWeights();
    if (mode === 'hard') {
      this.referenceModel.setWeights(policyWeights);
      return;
    }
    const reference = this.referenceModel.getWeights();
    const mixed = mixReferenceWeights({
      reference: Object.fromEntries(
        Object.entries(reference).map(([name, tensor]) => [name, tensor.data]),
      ),
      policy: Object.fromEntries(
        Object.entries(policyWeights).map(([name, tensor]) => [name, tensor.data]),
      ),
      alpha,
    });
    this.referenceModel.setWeights(
      Object.fromEntries(
        Object.entries(reference).map(([name, tensor]) => [
          name,
          { shape: tensor.shape, data: mixed[name]! },
        ]),
      ),
    );
  }

  /**
   * Runs the held-out scenarios with a fixed seed (greedy by default), so that
   * evaluations at different steps are comparable.
   */
  async evaluate(
    options: { scenarios?: readonly S[]; systemPrompt?: string; emit?: boolean } = {},
  ): Promise<EvaluationMetrics> {
    const { evaluation } = this.config;
    let scenarios = options.scenarios ?? this.options.evalScenarios ?? [];
    if (evaluation.maxScenarios > 0) scenarios = scenarios.slice(0, evaluation.maxScenarios);
    if (scenarios.length === 0) {
      throw new InvalidArgumentError({
        argument: 'evalScenarios',
        value: [],
        message: 'evaluation needs scenarios',
      });
    }
    const systemPrompt = options.systemPrompt ?? this.systemPrompt;
    const result = await rolloutGroups({
      policy: this.policy,
      environment: this.options.environment,
      scenarios,
      groupSize: evaluation.episodesPerScenario,
      seed: evaluation.seed,
      generation: this.generationOptions(evaluation.temperature),
      rewards: this.options.rewards,
      ...(systemPrompt === undefined ? {} : { systemPrompt }),
      maxSequenceLength: this.config.maxSequenceLength,
      label: `eval${this.stepIndex}`,
    });
    const trajectories = result.groups.flatMap((group) => group.trajectories);
    const stats = summarize(trajectories.map((trajectory) => trajectory.totalReward));
    const metrics: EvaluationMetrics = {
      step: this.stepIndex,
      episodes: trajectories.length,
      rewardMean: stats.mean,
      rewardStd: stats.std,
      successRate: mean(
        trajectories.map((trajectory) => (trajectory.endReason === 'success' ? 1 : 0)),
      ),
      rewardMeanByFunction: meanByFunction(trajectories),
      samples: trajectories.slice(0, 4).map((trajectory) => ({
        scenarioId: trajectory.scenarioId,
        reward: trajectory.totalReward,
        endReason: trajectory.endReason,
        messages: trajectory.messages,
      })),
    };
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
  }
}

/** Mean over trajectories of each reward function's value (nulls, failed scores, left out). */
export function meanByFunction(trajectories: readonly Trajectory[]): Record<string, number> {
  const sums: Record<string, { sum: number; count: number }> = {};
  for (const trajectory of trajectories) {
    for (const [name, value] of Object.entries(trajectory.rewardsByFunction)) {
      if (value === null) continue;
      const entry = sums[name] ?? { sum: 0, count: 0 };
      sums[name] = entry;
      entry.sum += value;
      entry.count++;
    }
  }
  return Object.fromEntries(
    Object.entries(sums).map(([name, { sum, count }]) => [name, sum / count]),
  );
}
