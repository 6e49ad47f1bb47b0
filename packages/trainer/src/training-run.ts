import { appendFile, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  CheckpointError,
  InvalidArgumentError,
  type Scenario,
  type TrajectoryGroup,
} from '@cohort/core';
import {
  type DegenerationFlag,
  detectDegeneratePolicy,
  type PolicySnapshot,
  policySnapshot,
  replyDiversity,
  toolCallMetrics,
} from '@cohort/environments';
import type {
  CachedFitnessFunction,
  EvolutionaryPopulation,
  HybridEvolutionSchedule,
  HybridEvolutionScheduleState,
} from '@cohort/evolution';
import type { OptimizerState, WeightMap } from '@cohort/tfjs';
import { loadCheckpoint, saveCheckpoint } from '@cohort/tfjs/node';
import type {
  AdapterPopulation,
  AdapterPopulationState,
  PopulationAdoptionSummary,
  PopulationGenerationRecord,
} from './adapter-population';
import type {
  EvaluationMetrics,
  GrpoTrainer,
  GrpoTrainerState,
  StepMetrics,
  TrainerEvent,
} from './grpo-trainer';
import { MetricsLog, type MetricsRecord } from './metrics-log';
import {
  decodeOptimizerState,
  type EncodedOptimizerState,
  encodeOptimizerState,
} from './optimizer-state-codec';
import type { ScenarioLike } from './reward-scoring-stage';
import { listStepCheckpoints, removeStaleTemporaries, truncateJsonLines } from './run-files';
import {
  evaluateStratified,
  type StratifiedEvaluationMetrics,
  type StratifiedEvaluationOptions,
} from './stratified-evaluation';
import { isRefreshable } from './trainable-policy';

/** Prompt evolution running beside gradient training: a generation every E episodes. */
export interface PromptEvolution {
  population: EvolutionaryPopulation<string>;
  schedule: HybridEvolutionSchedule;
  /** The population's fitness, whose cache is cleared before each generation (the policy has changed). */
  fitness: CachedFitnessFunction<string>;
}

/** Options of {@link TrainingRun}. */
export interface TrainingRunOptions<S extends ScenarioLike = Scenario> {
  trainer: GrpoTrainer<S>;
  /** Where metrics, checkpoints and samples go. */
  runDirectory: string;
  /** Total steps of the run (a resumed run continues to this count). */
  steps: number;
  evolution?: PromptEvolution;
  /**
   * Train a population of members on the trainer's policy instead of the
   * trainer alone (PBT, ERL, prompts; {@link AdapterPopulation}): each run
   * step is one member's step, so `steps` counts the population's steps and
   * equal steps mean equal training episodes. The trainer then stands for the
   * member to deploy: between steps the policy holds the fittest member's
   * adapters and the trainer its system prompt, and its step and episode
   * counts are the population's, so evaluations, checkpoints (with the whole
   * population's state) and the saved model are that member's. Excludes
   * `evolution` (the population evolves its own prompts).
   */
  population?: AdapterPopulation<S>;
  /** Events of the trainer and of the run (checkpoints, generations), for progress displays. */
  onEvent?: (event: TrainingRunEvent) => void;
  /** Evaluate before the first step too (default true when there are evaluation scenarios). */
  evaluateAtStart?: boolean;
  /**
   * State that lives outside the trainer but must survive a resume (for
   * example a drifting bandit's arms). Saved with every checkpoint.
   */
  extraState?: { save(): unknown; restore(state: unknown): void };
  /**
   * Evaluate on a stratified sample of these held-out scenarios, with
   * intervals and a figure per category ({@link evaluateStratified}), instead
   * of the trainer's own first-N evaluation.
   */
  evaluation?: StratifiedEvaluationOptions<S>;
}

/** Everything a run reports. */
export type TrainingRunEvent =
  | TrainerEvent
  | { type: 'checkpoint'; step: number; directory: string }
  | { type: 'generation'; step: number; record: GenerationRecord }
  | { type: 'population'; step: number; record: PopulationGenerationRecord }
  | { type: 'stopped'; step: number; reason: string };

/** What a generation of prompt evolution did. */
export interface GenerationRecord {
  generation: number;
  episode: number;
  bestFitness: number;
  meanFitness: number;
  worstFitness: number;
  diversity: number;
  trainedFitness: number;
  adopted: string | null;
  systemPrompt: string | undefined;
}

/** The outcome of {@link TrainingRun.run}. */
export interface TrainingSummary {
  stepsCompleted: number;
  stoppedEarly: boolean;
  firstEvaluation?: EvaluationMetrics;
  lastEvaluation?: EvaluationMetrics;
  lastStep?: StepMetrics;
  generations: GenerationRecord[];
  systemPrompt: string | undefined;
  /** Each kind of degenerate-policy flag raised during the run: the step it first rose and its latest figures. */
  degenerationFlags: RaisedDegenerationFlag[];
  /** With a population: what evolution adopted, and the deployed member. */
  population?: PopulationAdoptionSummary;
}

/** A {@link DegenerationFlag} as a run saw it: first raised at `firstStep`, last at `step`. */
export interface RaisedDegenerationFlag extends DegenerationFlag {
  firstStep: number;
  step: number;
}

/**
 * When a step's rollouts earn a warning: more than half the episodes ended
 * by a full context; more than half of at least 8 agent replies identical (a
 * policy that found one stock reply that the reward pays for), tool calls
 * dropped or success falling while reward rises ({@link detectDegeneratePolicy}
 * over the run's steps). A warning of one kind is given again at most every
 * `warningIntervalSteps` steps.
 */
export const runHealthThresholds = {
  lengthEndedFraction: 0.5,
  topReplyShare: 0.5,
  minimumReplies: 8,
  warningIntervalSteps: 25,
} as const;

const referencePrefix = 'reference/';
const valuePrefix = 'value/';

/** The health figures logged with each step (beside {@link StepMetrics}) and plotted by the report. */
export interface StepHealth {
  /** Distinct unigrams / bigrams over all words of the step's agent replies. */
  distinct1: number;
  distinct2: number;
  /** Share of the step's agent replies equal to its most frequent one (a degenerate policy repeats itself). */
  topReplyShare: number;
  emptyReplyShare: number;
  /** Share of the step's episodes that ended because the context was full. */
  lengthEndedFraction: number;
  /** Tool calls per episode and the share of them that failed (0 where the environment offers no tools). */
  toolCallsPerEpisode: number;
  toolCallErrorRate: number;
}

/**
 * A whole training run on disk: steps of a {@link GrpoTrainer}, evaluation
 * every N steps, prompt evolution every E episodes, metrics as JSON lines,
 * checkpoints every N steps (and when stopped), and exact resume.
 *
 * Layout of `runDirectory`: `metrics.jsonl`, `samples.jsonl` (evaluation
 * conversations), `checkpoints/step-000010/` (weights, optimizer state, and
 * the trainer's RNG, step and KL state; the reference model's weights too when
 * it is refreshed; the population when evolution is on).
 *
 * A resumed run loads the newest checkpoint, drops metric lines written after
 * it, and continues with the same random stream, so it ends with the same
 * weights as a run that was never interrupted.
 */
export class TrainingRun<S extends ScenarioLike = Scenario> {
  readonly options: TrainingRunOptions<S>;
  readonly metrics: MetricsLog;
  private stopReason: string | undefined;
  private readonly generations: GenerationRecord[] = [];
  /** The trajectories of the step in progress (from the trainer's `rollouts` events). */
  private stepGroups: TrajectoryGroup[] = [];
  /** The step each kind of warning was last given at, so a recurring one is not printed at every step. */
  private readonly lastWarned = new Map<string, number>();
  /** One snapshot per step for {@link detectDegeneratePolicy} (replies kept for the latest only). */
  private readonly snapshots: PolicySnapshot[] = [];
  private readonly raisedFlags = new Map<DegenerationFlag['kind'], RaisedDegenerationFlag>();

  constructor(options: TrainingRunOptions<S>) {
    if (options.population && options.evolution) {
      throw new InvalidArgumentError({
        argument: 'evolution',
        value: 'prompt evolution',
        message:
          "cannot run beside a population: the population evolves its members' prompts (population evolvePrompts)",
      });
    }
    this.options = options;
    this.metrics = new MetricsLog(path.join(options.runDirectory, 'metrics.jsonl'));
    const listener = (event: TrainerEvent) => {
      if (event.type === 'rollouts') this.stepGroups.push(...event.groups);
      this.emit(event);
    };
    options.trainer.subscribe(listener);
    options.population?.subscribe(listener);
  }

  /**
   * With a population: loads the member to deploy into the policy, gives the
   * trainer its system prompt, and the population's step and episode counts.
   */
  private deployPopulationBest(): void {
    const { population, trainer } = this.options;
    if (!population) return;
    const index = population.bestMemberIndex();
    population.useMember(index);
    const { systemPrompt: _previous, ...state } = trainer.getState();
    const systemPrompt = population.members[index]!.systemPrompt;
    trainer.setState({
      ...state,
      step: population.steps,
      episodes: population.episodes,
      ...(systemPrompt === undefined ? {} : { systemPrompt }),
    });
  }

  get checkpointDirectory(): string {
    return path.join(this.options.runDirectory, 'checkpoints');
  }

  /** Asks the run to stop after the current step; it then saves a checkpoint. */
  requestStop(reason = 'stop requested'): void {
    this.stopReason ??= reason;
  }

  private emit(event: TrainingRunEvent): void {
    this.options.onEvent?.(event);
  }

  /** Saves a checkpoint of the current state under `checkpoints/step-NNNNNN`. */
  async saveCheckpoint(): Promise<string> {
    const { trainer } = this.options;
    const weights: WeightMap = { ...trainer.policy.getWeights() };
    const reference = trainer.referenceModel;
    if (reference && isRefreshable(reference) && trainer.config.referenceRefresh.mode !== 'none') {
      for (const [name, tensor] of Object.entries(reference.getWeights()))
        weights[`${referencePrefix}${name}`] = tensor;
    }
    if (trainer.valueFunction) {
      for (const [name, tensor] of Object.entries(trainer.valueFunction.getWeights()))
        weights[`${valuePrefix}${name}`] = tensor;
    }
    const state = trainer.getState();
    const directory = path.join(
      this.checkpointDirectory,
      `step-${String(state.step).padStart(6, '0')}`,
    );
    await saveCheckpoint(directory, {
      weights,
      optimizerState: trainer.optimizer.getState() as OptimizerState,
      rngState: state.random,
      metadata: {
        trainer: state,
        generations: this.generations,
        ...(trainer.valueOptimizer
          ? {
              valueOptimizer: encodeOptimizerState(
                trainer.valueOptimizer.getState() as OptimizerState,
              ),
            }
          : {}),
        ...(this.options.extraState ? { extra: this.options.extraState.save() } : {}),
        ...(this.options.evolution
          ? {
              population: this.options.evolution.population.getState(),
              schedule: this.options.evolution.schedule.getState(),
            }
          : {}),
        ...(this.options.population
          ? { adapterPopulation: this.options.population.getState() }
          : {}),
      },
    });
    await this.pruneCheckpoints();
    this.emit({ type: 'checkpoint', step: state.step, directory });
    return directory;
  }

  private listCheckpoints(): Promise<{ step: number; directory: string }[]> {
    return listStepCheckpoints(this.checkpointDirectory);
  }

  private async pruneCheckpoints(): Promise<void> {
    const keep = this.options.trainer.config.checkpoint.keep;
    const checkpoints = await this.listCheckpoints();
    for (const old of checkpoints.slice(0, Math.max(0, checkpoints.length - keep))) {
      await rm(old.directory, { recursive: true, force: true });
    }
  }

  /**
   * Loads the newest checkpoint of the run directory, if there is one, after
   * removing what a crash left half-written (temporary files and checkpoint
   * folders). Drops the lines of `metrics.jsonl` and `samples.jsonl` written
   * after that checkpoint (all of them when there is none: the run starts
   * over), so a resumed run's logs hold each step once. Returns the step it
   * resumes from (0 when there is none). Call it while holding the run's lock
   * (`acquireRunLock`).
   * @throws CheckpointError when the newest checkpoint is damaged or does not match the model.
   */
  async resume(): Promise<number> {
    await removeStaleTemporaries(this.options.runDirectory);
    const checkpoints = await this.listCheckpoints();
    const latest = checkpoints.at(-1);
    if (!latest) {
      await this.truncateLogs(0);
      return 0;
    }
    const { trainer } = this.options;
    const policyWeights = trainer.policy.getWeights();
    const contents = await loadCheckpoint(latest.directory);
    const policyPart: WeightMap = {};
    const referencePart: WeightMap = {};
    const valuePart: WeightMap = {};
    for (const [name, tensor] of Object.entries(contents.weights)) {
      if (name.startsWith(referencePrefix)) {
        referencePart[name.slice(referencePrefix.length)] = tensor;
      } else if (name.startsWith(valuePrefix)) {
        valuePart[name.slice(valuePrefix.length)] = tensor;
      } else {
        policyPart[name] = tensor;
      }
    }
    for (const [name, tensor] of Object.entries(policyWeights)) {
      const saved = policyPart[name];
      if (!saved || saved.shape.join('x') !== tensor.shape.join('x')) {
        throw new CheckpointError({
          path: latest.directory,
          message: `weight ${name} ${saved ? `has shape [${saved.shape}]` : 'is missing'}; the model expects [${tensor.shape}]`,
        });
      }
    }
    trainer.policy.setWeights(policyPart);
    const reference = trainer.referenceModel;
    if (Object.keys(referencePart).length > 0 && reference && isRefreshable(reference))
      reference.setWeights(referencePart);
    if (contents.optimizerState) trainer.optimizer.setState(contents.optimizerState);
    const metadata = contents.metadata ?? {};
    if (trainer.valueFunction && Object.keys(valuePart).length > 0)
      trainer.valueFunction.setWeights(valuePart);
    if (trainer.valueOptimizer && metadata.valueOptimizer) {
      trainer.valueOptimizer.setState(
        decodeOptimizerState(metadata.valueOptimizer as EncodedOptimizerState),
      );
    }
    trainer.setState(metadata.trainer as GrpoTrainerState);
    this.generations.splice(
      0,
      this.generations.length,
      ...((metadata.generations as GenerationRecord[]) ?? []),
    );
    if (this.options.extraState && metadata.extra !== undefined)
      this.options.extraState.restore(metadata.extra);
    if (this.options.evolution && metadata.population && metadata.schedule) {
      this.options.evolution.population.restoreState(metadata.population);
      this.options.evolution.schedule.restoreState(
        metadata.schedule as HybridEvolutionScheduleState,
      );
    }
    if (this.options.population) {
      if (metadata.adapterPopulation === undefined) {
        throw new CheckpointError({
          path: latest.directory,
          message:
            'holds no population state: it was written by a run without a population, which this run cannot continue',
        });
      }
      this.options.population.setState(metadata.adapterPopulation as AdapterPopulationState);
      this.deployPopulationBest();
    }
    await this.truncateLogs(trainer.currentStep);
    return trainer.currentStep;
  }

  /**
   * Drops log lines that the resumed run will write again: those after
   * `step`, and at step 0 all of them (the evaluation before the first step
   * is run again).
   */
  private async truncateLogs(step: number): Promise<void> {
    const keep = (record: { step?: unknown }) =>
      step > 0 && typeof record.step === 'number' && record.step <= step;
    await truncateJsonLines(this.metrics.filePath, keep);
    await truncateJsonLines(path.join(this.options.runDirectory, 'samples.jsonl'), keep);
  }

  private async record(kind: MetricsRecord['kind'], step: number, data: object): Promise<void> {
    await this.metrics.append({ kind, step, time: new Date().toISOString(), ...data });
  }

  private async runEvaluation(): Promise<EvaluationMetrics | StratifiedEvaluationMetrics> {
    const stratified = this.options.evaluation;
    let evaluation: EvaluationMetrics | StratifiedEvaluationMetrics;
    if (stratified) {
      evaluation = await evaluateStratified(this.options.trainer, stratified);
      this.emit({ type: 'evaluation', metrics: evaluation });
    } else {
      evaluation = await this.options.trainer.evaluate();
    }
    const { samples, ...numbers } = evaluation;
    await this.record('evaluation', evaluation.step, numbers);
    const samplesPath = path.join(this.options.runDirectory, 'samples.jsonl');
    await appendFile(
      samplesPath,
      samples.map((sample) => JSON.stringify({ step: evaluation.step, ...sample })).join('\n') +
        (samples.length ? '\n' : ''),
    );
    return evaluation;
  }

  /**
   * What the step's rollouts say about the run's health: reply diversity,
   * tool use, episodes ended by a full context, and whether anything was
   * sampled at all; and, over the run's steps so far, the signs of a
   * degenerate policy ({@link detectDegeneratePolicy}: one reply repeated,
   * tool calls dropped, success falling while reward rises). Emits a
   * `warning` event when a problem appears (and again only after
   * `warningIntervalSteps` steps).
   */
  private stepHealth(metrics: StepMetrics): StepHealth {
    const trajectories = this.stepGroups.flatMap((group) => group.trajectories);
    const replies = trajectories.flatMap((trajectory) =>
      trajectory.turns.filter((turn) => turn.role === 'assistant').map((turn) => turn.content),
    );
    const diversity = replyDiversity(replies);
    const tools = toolCallMetrics(trajectories);
    const lengthEnded = trajectories.filter((trajectory) => trajectory.endReason === 'length');
    const lengthEndedFraction = trajectories.length ? lengthEnded.length / trajectories.length : 0;
    const { maxNewTokens } = this.options.trainer.config.generation;
    const { maxSequenceLength } = this.options.trainer.config;
    this.warnWhile(
      'nothing-sampled',
      metrics.sampledTokens === 0,
      metrics.step,
      `step ${metrics.step} sampled no tokens: no prompt leaves room for maxNewTokens ${maxNewTokens} in maxSequenceLength ${maxSequenceLength}`,
    );
    this.warnWhile(
      'length',
      trajectories.length > 0 && lengthEndedFraction > runHealthThresholds.lengthEndedFraction,
      metrics.step,
      `${Math.round(lengthEndedFraction * 100)}% of the episodes of step ${metrics.step} ended because the context was full (maxSequenceLength ${maxSequenceLength}, maxNewTokens ${maxNewTokens})`,
    );
    if (trajectories.length > 0) {
      const previous = this.snapshots.at(-1);
      if (previous) this.snapshots[this.snapshots.length - 1] = { ...previous, agentReplies: [] };
      this.snapshots.push({ ...policySnapshot(metrics.step, trajectories), agentReplies: replies });
      const flags = detectDegeneratePolicy(this.snapshots, {
        maxRepeatedShare: runHealthThresholds.topReplyShare,
        minReplies: runHealthThresholds.minimumReplies,
      });
      for (const flag of flags) {
        const raised = this.raisedFlags.get(flag.kind);
        this.raisedFlags.set(flag.kind, {
          ...flag,
          firstStep: raised?.firstStep ?? metrics.step,
          step: metrics.step,
        });
        this.warnWhile(flag.kind, true, metrics.step, `degenerate policy? ${flag.message}`);
      }
    }
    return {
      distinct1: diversity.distinct1,
      distinct2: diversity.distinct2,
      topReplyShare: diversity.topReplyShare,
      emptyReplyShare: diversity.emptyShare,
      lengthEndedFraction,
      toolCallsPerEpisode: tools.callsPerEpisode,
      toolCallErrorRate: tools.errorRate,
    };
  }

  private warnWhile(kind: string, condition: boolean, step: number, message: string): void {
    if (!condition) return;
    const last = this.lastWarned.get(kind);
    if (last !== undefined && step - last < runHealthThresholds.warningIntervalSteps) return;
    this.lastWarned.set(kind, step);
    this.emit({ type: 'warning', step, message });
  }

  private async runGeneration(step: number): Promise<void> {
    const evolution = this.options.evolution;
    const { trainer } = this.options;
    if (!evolution) return;
    if (!evolution.schedule.shouldRunGeneration(trainer.episodes)) return;
    // The policy has changed since the last generation: old fitness values are stale.
    evolution.fitness.clearCache();
    evolution.population.invalidateFitness();
    const trainedValue = trainer.systemPrompt ?? '';
    const { decision, record } = await evolution.schedule.runGeneration({
      population: evolution.population,
      trainedValue,
      episodeCount: trainer.episodes,
    });
    if (decision.adopt) trainer.systemPrompt = decision.genome.value;
    const generation: GenerationRecord = {
      generation: record.generation,
      episode: record.episode,
      bestFitness: record.bestFitness,
      meanFitness: record.meanFitness,
      worstFitness: record.worstFitness,
      diversity: record.diversity,
      trainedFitness: record.trainedFitness,
      adopted: decision.adopt ? decision.genome.id : null,
      systemPrompt: trainer.systemPrompt,
    };
    this.generations.push(generation);
    await this.record('generation', step, generation);
    this.emit({ type: 'generation', step, record: generation });
  }

  /** One step of the population, then the fittest member deployed; logs the generation that step ran, if any. */
  private async populationStep(population: AdapterPopulation<S>): Promise<{
    metrics: StepMetrics;
    generation: PopulationGenerationRecord | null;
  }> {
    const result = await population.step();
    this.deployPopulationBest();
    return {
      metrics: { ...result.metrics, step: population.steps },
      generation: result.generation,
    };
  }

  private async recordPopulationGeneration(
    step: number,
    record: PopulationGenerationRecord,
  ): Promise<void> {
    await this.record('population', step, {
      ...record,
      best: this.options.population!.bestMemberIndex(),
      // Where each measured member came from: its lineage before this generation's changes.
      lineage: this.options.population!.members.map((member) =>
        member.lineage.filter((entry) => entry.generation < record.generation).at(-1),
      ),
    });
    this.emit({ type: 'population', step, record });
  }

  /**
   * Runs steps until `steps` is reached or a stop is requested. Evaluates at
   * the configured interval and at the end, checkpoints at the configured
   * interval and when stopped early.
   */
  async run(): Promise<TrainingSummary> {
    const { trainer, steps } = this.options;
    const { evaluation, checkpoint } = trainer.config;
    const canEvaluate = this.options.evaluation
      ? this.options.evaluation.scenarios.length > 0
      : trainer.hasEvaluationScenarios;
    let firstEvaluation: EvaluationMetrics | undefined;
    let lastEvaluation: EvaluationMetrics | undefined;
    let lastStep: StepMetrics | undefined;
    const { population } = this.options;
    if (population && trainer.currentStep === 0) this.deployPopulationBest();
    if (canEvaluate && (this.options.evaluateAtStart ?? true) && trainer.currentStep === 0) {
      firstEvaluation = await this.runEvaluation();
      lastEvaluation = firstEvaluation;
    }
    let lastSaved = trainer.currentStep;
    while (trainer.currentStep < steps && this.stopReason === undefined) {
      this.stepGroups = [];
      let generation: PopulationGenerationRecord | null = null;
      if (population) ({ metrics: lastStep, generation } = await this.populationStep(population));
      else lastStep = await trainer.step();
      const { timings, rewardMeanByFunction, ...numbers } = lastStep;
      const health = this.stepHealth(lastStep);
      await this.record('step', lastStep.step, {
        ...numbers,
        ...health,
        timings,
        rewardMeanByFunction,
        systemPrompt: trainer.systemPrompt ?? null,
      });
      if (generation) await this.recordPopulationGeneration(lastStep.step, generation);
      else await this.runGeneration(lastStep.step);
      const atEnd = trainer.currentStep >= steps;
      const due = evaluation.everySteps > 0 && trainer.currentStep % evaluation.everySteps === 0;
      if (canEvaluate && (due || atEnd)) lastEvaluation = await this.runEvaluation();
      if (checkpoint.everySteps > 0 && trainer.currentStep % checkpoint.everySteps === 0) {
        await this.saveCheckpoint();
        lastSaved = trainer.currentStep;
      }
    }
    if (this.stopReason !== undefined) {
      if (lastSaved !== trainer.currentStep) await this.saveCheckpoint();
      this.emit({ type: 'stopped', step: trainer.currentStep, reason: this.stopReason });
      await this.record('event', trainer.currentStep, {
        event: 'stopped',
        reason: this.stopReason,
      });
    }
    return {
      stepsCompleted: trainer.currentStep,
      stoppedEarly: this.stopReason !== undefined && trainer.currentStep < steps,
      ...(firstEvaluation ? { firstEvaluation } : {}),
      ...(lastEvaluation ? { lastEvaluation } : {}),
      ...(lastStep ? { lastStep } : {}),
      generations: [...this.generations],
      systemPrompt: trainer.systemPrompt,
      degenerationFlags: [...this.raisedFlags.values()],
      ...(population ? { population: population.adoptionSummary() } : {}),
    };
  }
}
