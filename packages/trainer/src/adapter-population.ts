import {
  InvalidArgumentError,
  Random,
  type RandomState,
  type Scenario,
  type Trajectory,
  ValidationError,
} from '@cohort/core';
import type { JudgeRanker } from '@cohort/environments';
import {
  assertHyperparameterSpace,
  clampHyperparameter,
  type FitnessInterval,
  fitnessInterval,
  type GenomeKind,
  gaussianMutation,
  type HyperparameterSpace,
  type Hyperparameters,
  planExploitExplore,
  sampleHyperparameters,
} from '@cohort/evolution';
import type { Optimizer, WeightMap } from '@cohort/tfjs';
import { GrpoTrainer, type GrpoTrainerState } from './grpo-trainer';
import type { GrpoTrainerOptions, TrainerEvent } from './grpo-trainer-options';
import {
  type GrpoTrainingOptions,
  type GrpoTrainingOptionsInput,
  resolveTrainingOptions,
} from './grpo-training-options';
import { hyperparametersOfConfig, memberConfig } from './member-config';
import {
  base64ToFloat32,
  decodeOptimizerState,
  type EncodedOptimizerState,
  encodeOptimizerState,
  float32ToBase64,
} from './optimizer-state-codec';
import {
  type MemberHyperparameterName,
  type PopulationScheduleOptions,
  type PopulationScheduleOptionsInput,
  parsePopulationScheduleOptions,
} from './population-schedule-options';
import type { ScenarioLike } from './reward-scoring-stage';
import { summarize } from './statistics';
import type { StepMetrics } from './step-metrics';

/** Options of {@link AdapterPopulation.create}. */
export interface AdapterPopulationOptions<S extends ScenarioLike = Scenario> {
  /** What every member's trainer shares: the policy (one frozen base), reference, environment, scenarios, rewards. */
  trainer: Omit<GrpoTrainerOptions<S>, 'config' | 'optimizer' | 'systemPrompt'>;
  /** The trainer config; each member's hyperparameters are written over it ({@link memberConfig}). */
  config?: GrpoTrainingOptionsInput | GrpoTrainingOptions;
  /** Every member's starting system prompt. */
  systemPrompt?: string;
  population: PopulationScheduleOptionsInput;
  /** Mutation and crossover of prompts (`promptGenome` of `@cohort/evolution`); needed by `evolvePrompts`. */
  promptGenome?: GenomeKind<string>;
  /** The judge of `fitness: 'judge'` (a `JudgeRanker` of `@cohort/environments`); needed by it, refused without it. */
  judge?: Pick<JudgeRanker, 'scoreGroup'>;
}

/** Where a member's current adapters came from. */
export interface LineageEntry {
  generation: number;
  origin: 'initial' | 'exploit' | 'injected' | 'mutation' | 'adopted';
  /** The member id copied or mutated from. */
  fromId?: string;
}

/** One member: adapters, optimizer state (in its trainer), hyperparameters, system prompt and lineage. */
export interface PopulationMember<S extends ScenarioLike = Scenario> {
  /** Changes whenever the member's adapters are replaced (copied, injected, mutated). */
  id: string;
  hyperparameters: Hyperparameters;
  systemPrompt: string | undefined;
  /** The member's adapters (all weights for a policy without adapters), in plain memory. */
  weights: WeightMap;
  /** Its own trainer (config with its hyperparameters, optimizer, random stream) over the shared policy. */
  trainer: GrpoTrainer<S>;
  /** False for the gradient-free members of ERL. */
  gradientTrained: boolean;
  lineage: LineageEntry[];
}

/** A member's fitness in one generation. */
export interface MemberFitnessRecord {
  index: number;
  id: string;
  fitness: FitnessInterval;
  hyperparameters: Hyperparameters;
  systemPrompt?: string;
  gradientTrained: boolean;
}

/** What one generation measured and changed. */
export interface PopulationGenerationRecord {
  generation: number;
  /** Training episodes of the whole population when it ran. */
  episode: number;
  /** Episodes spent on fitness (not counted as training episodes). */
  fitnessEpisodes: number;
  /** `fitness: 'judge'`: the groups the judge was asked to rank, and how many of its calls failed (those groups count for no member). */
  judged?: { groups: number; failed: number };
  members: MemberFitnessRecord[];
  /** PBT: members that copied a better one (adapters and optimizer state) and explored. */
  exploits: {
    targetIndex: number;
    targetId: string;
    sourceId: string;
    targetFitness: number;
    sourceFitness: number;
    hyperparameters: Hyperparameters;
    /** Whether the copy brought a system prompt other than the target's (prompt evolution). */
    promptChanged?: boolean;
  }[];
  /** ERL: the learner's adapters injected in place of this member, or null. */
  injected: { index: number; replacedId: string } | null;
  /** ERL: the member whose adapters the learner adopted, or null when none beat it by the margin. */
  adopted: {
    fromId: string;
    fitness: number;
    learnerFitness: number;
    promptChanged?: boolean;
  } | null;
  /** ERL: members replaced by a mutation. */
  mutated: number[];
}

/** What a population's evolution adopted ({@link AdapterPopulation.adoptionSummary}). */
export interface PopulationAdoptionSummary {
  mode: 'pbt' | 'erl';
  evolvePrompts: boolean;
  size: number;
  generations: number;
  /** Episodes spent measuring fitness, beside the training episodes. */
  fitnessEpisodes: number;
  /** PBT: members that copied a better member's adapters and optimizer state (and explored). */
  copies: number;
  /** ERL: times the learner was injected into the evolving members. */
  injections: number;
  /** ERL: times the learner adopted an evolved member's adapters. */
  adoptions: number;
  /** ERL: evolved members replaced by a mutation. */
  mutations: number;
  /** Copies and adoptions that brought another system prompt. */
  promptAdoptions: number;
  /** The member to deploy: the fittest of the last generation. */
  best: {
    index: number;
    id: string;
    hyperparameters: Record<string, number>;
    systemPrompt?: string;
    lineage: LineageEntry[];
    fitness?: FitnessInterval;
  };
}

/** The JSON state of an {@link AdapterPopulation}, for checkpoints. */
export interface AdapterPopulationState {
  format: 'cohort.trainer.adapter-population';
  version: 1;
  episodes: number;
  handledBoundary: number;
  generation: number;
  cursor: number;
  nextId: number;
  random: RandomState;
  members: {
    id: string;
    hyperparameters: Record<string, number>;
    systemPrompt?: string;
    weights: Record<string, { shape: number[]; data: string }>;
    optimizer: EncodedOptimizerState;
    trainer: GrpoTrainerState;
    gradientTrained: boolean;
    lineage: LineageEntry[];
  }[];
  records: PopulationGenerationRecord[];
}

/** The result of {@link AdapterPopulation.step}. */
export interface PopulationStepResult {
  memberIndex: number;
  metrics: StepMetrics;
  /** The generation that ran after this step, if one was due. */
  generation: PopulationGenerationRecord | null;
}

function copyWeights(weights: WeightMap): WeightMap {
  return Object.fromEntries(
    Object.entries(weights).map(([name, tensor]) => [
      name,
      { shape: [...tensor.shape], data: Float32Array.from(tensor.data) },
    ]),
  );
}

function optimizerOf(trainer: GrpoTrainer<ScenarioLike>): Optimizer {
  const optimizer = trainer.optimizer as Partial<Optimizer>;
  if (typeof optimizer.getState !== 'function' || typeof optimizer.dispose !== 'function') {
    throw new InvalidArgumentError({
      argument: 'trainer.optimizer',
      value: typeof optimizer,
      message: 'must be the tfjs Optimizer the population builds',
    });
  }
  return optimizer as Optimizer;
}

/**
 * A population of members on one shared, frozen base: each member is a set
 * of LoRA adapters (what `policy.getWeights()` returns; all weights for a
 * policy without adapters) with its own optimizer state, hyperparameters
 * (learning rate, KL coefficient, temperature, entropy coefficient, clip
 * range, inside declared ranges), system prompt and lineage. Cloning a member
 * copies adapters and optimizer moments only, so 4-8 members fit where full
 * model copies would not. Training swaps a member's adapters into the shared
 * policy (`setWeights`), runs one step of its own {@link GrpoTrainer}, and
 * reads them back.
 *
 * Every `everyEpisodes` training episodes of the whole population (boundaries
 * at multiples of E, never drifting) a generation runs: every member's
 * fitness is measured on the same fixed subset of training scenarios with the
 * evaluation seed (greedy by default; sampled at each member's own
 * temperature with `fitnessTemperature: 'member'`), with a confidence
 * interval; then
 * - `pbt` (Jaderberg et al. 2017): the bottom quantile copies the adapters
 *   and optimizer state of a top member better by more than the adoption
 *   margin, and perturbs its hyperparameters inside their ranges;
 * - `erl` (Khadka and Tumer 2018): member 0 is the gradient learner, the
 *   others evolve by Gaussian mutation of the adapters; the learner's adapters
 *   replace the worst evolved member, and the learner adopts the best evolved
 *   member's adapters when they beat it by more than the margin (it keeps its
 *   optimizer state and hyperparameters: the evolved members have none that trained).
 * With `evolvePrompts`, copies and mutations also cross over and mutate the
 * member's system prompt.
 *
 * @example
 * ```ts
 * const population = await AdapterPopulation.create({
 *   trainer: { policy, referenceModel, environment, trainScenarios, rewards },
 *   config: { groupSize: 8, scenariosPerStep: 2 },
 *   population: { mode: 'pbt', size: 4, everyEpisodes: 64 },
 * });
 * while (population.episodes < 512) await population.step();
 * ```
 */
export class AdapterPopulation<S extends ScenarioLike = Scenario> {
  readonly options: PopulationScheduleOptions;
  readonly baseConfig: GrpoTrainingOptions;
  readonly space: HyperparameterSpace;
  /** The fixed fitness subset of the training scenarios. */
  readonly fitnessScenarios: readonly S[];
  private readonly shared: AdapterPopulationOptions<S>['trainer'];
  private readonly promptGenome: GenomeKind<string> | undefined;
  private readonly judge: Pick<JudgeRanker, 'scoreGroup'> | undefined;
  private memberList: PopulationMember<S>[] = [];
  private random: Random;
  private episodeCount = 0;
  private handledBoundary = 0;
  private generationCount = 0;
  private cursor = 0;
  private nextId = 0;
  private readonly recordList: PopulationGenerationRecord[] = [];
  private readonly listeners = new Set<(event: TrainerEvent) => void>();

  private constructor(options: AdapterPopulationOptions<S>, settings: PopulationScheduleOptions) {
    this.options = settings;
    this.baseConfig = resolveTrainingOptions(options.config ?? {});
    this.shared = options.trainer;
    this.promptGenome = options.promptGenome;
    this.judge = options.judge;
    this.space = settings.hyperparameters as HyperparameterSpace;
    assertHyperparameterSpace(this.space);
    this.random = new Random(settings.seed).fork('population');
    const scenarios = options.trainer.trainScenarios;
    this.fitnessScenarios = new Random(settings.seed)
      .fork('fitness-scenarios')
      .sample(scenarios, Math.min(settings.fitnessScenarios, scenarios.length));
  }

  /**
   * Builds the population: member 0 at the config's hyperparameters (or every
   * member, with `initialHyperparameters: 'config'`), the others drawn from
   * the ranges; every member starts from the policy's current adapters (ERL's
   * evolved members from mutations of them).
   *
   * @throws ValidationError or InvalidArgumentError naming the bad option.
   */
  static async create<S extends ScenarioLike = Scenario>(
    options: AdapterPopulationOptions<S>,
  ): Promise<AdapterPopulation<S>> {
    const settings = parsePopulationScheduleOptions(options.population);
    if (settings.evolvePrompts && options.promptGenome === undefined) {
      throw new InvalidArgumentError({
        argument: 'promptGenome',
        value: undefined,
        message: 'is needed when population.evolvePrompts is true',
      });
    }
    if (settings.evolvePrompts && (options.systemPrompt ?? '').trim() === '') {
      throw new InvalidArgumentError({
        argument: 'systemPrompt',
        value: options.systemPrompt,
        message: 'population.evolvePrompts needs a starting system prompt',
      });
    }
    if ((settings.fitness === 'judge') !== (options.judge !== undefined)) {
      throw new InvalidArgumentError({
        argument: 'judge',
        value: options.judge === undefined ? undefined : 'a judge',
        message:
          settings.fitness === 'judge'
            ? "is needed when population.fitness is 'judge'"
            : `is given, but population.fitness is '${settings.fitness}': it would rank nothing`,
      });
    }
    const population = new AdapterPopulation(options, settings);
    const names = Object.keys(population.space) as MemberHyperparameterName[];
    const configValues = hyperparametersOfConfig(population.baseConfig, names);
    const atConfig = Object.freeze(
      Object.fromEntries(
        names.map((name) => [
          name,
          clampHyperparameter(population.space[name]!, configValues[name]!),
        ]),
      ),
    );
    const initialWeights = options.trainer.policy.getWeights();
    for (let index = 0; index < settings.size; index++) {
      const hyperparameters =
        index === 0 || settings.initialHyperparameters === 'config'
          ? atConfig
          : sampleHyperparameters(population.space, population.random);
      const gradientTrained = settings.mode === 'pbt' || index === 0;
      const weights = gradientTrained
        ? copyWeights(initialWeights)
        : population.mutateWeights(initialWeights);
      const trainer = population.buildTrainer(hyperparameters, options.systemPrompt);
      population.memberList.push({
        id: population.newId(),
        hyperparameters,
        systemPrompt: options.systemPrompt,
        weights,
        trainer,
        gradientTrained,
        lineage: [{ generation: 0, origin: gradientTrained ? 'initial' : 'mutation' }],
      });
    }
    return population;
  }

  get members(): readonly PopulationMember<S>[] {
    return this.memberList;
  }

  /** Training steps of the whole population so far (one per {@link step}, whichever member took it). */
  get steps(): number {
    return this.memberList.reduce((sum, member) => sum + member.trainer.currentStep, 0);
  }

  /**
   * Receives the events of every member's trainer (steps, rollouts,
   * warnings, reward failures; not the fitness evaluations), with their step
   * numbers counted over the whole population ({@link steps}), so a run's
   * progress, logs and health checks read one step sequence. Returns the
   * function that unsubscribes.
   */
  subscribe(listener: (event: TrainerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private forward(trainer: GrpoTrainer<S>, event: TrainerEvent): void {
    if (event.type === 'evaluation' || this.listeners.size === 0) return;
    // A member's own step count becomes the population's: the offset is what the other members took.
    const offset = this.steps - trainer.currentStep;
    const renumbered: TrainerEvent =
      event.type === 'step'
        ? { ...event, metrics: { ...event.metrics, step: event.metrics.step + offset } }
        : { ...event, step: event.step + offset };
    for (const listener of this.listeners) listener(renumbered);
  }

  /** Training episodes of the whole population so far. */
  get episodes(): number {
    return this.episodeCount;
  }

  get generation(): number {
    return this.generationCount;
  }

  /** One record per generation, in order. */
  get records(): readonly PopulationGenerationRecord[] {
    return this.recordList;
  }

  /** Loads member `index`'s adapters into the shared policy and returns its trainer (to evaluate or chat with it). */
  useMember(index: number): GrpoTrainer<S> {
    const member = this.memberList[index];
    if (member === undefined) {
      throw new InvalidArgumentError({
        argument: 'index',
        value: index,
        message: `must be a member index below ${this.memberList.length}`,
      });
    }
    this.shared.policy.setWeights(member.weights);
    return member.trainer;
  }

  /**
   * The member to deploy: the fittest of the last generation (ties: the lower
   * index), or member 0 before any generation. In ERL that is the learner
   * unless an evolved member beat it.
   */
  bestMemberIndex(): number {
    const last = this.recordList[this.recordList.length - 1];
    if (last === undefined) return 0;
    let best = 0;
    last.members.forEach((member, index) => {
      if (member.fitness.mean > last.members[best]!.fitness.mean) best = index;
    });
    return best;
  }

  /**
   * What evolution adopted over the run, counted from the generation
   * records, and the member to deploy ({@link bestMemberIndex}) with its
   * hyperparameters, prompt, lineage and last fitness.
   */
  adoptionSummary(): PopulationAdoptionSummary {
    const records = this.recordList;
    const count = (pick: (record: PopulationGenerationRecord) => number) =>
      records.reduce((sum, record) => sum + pick(record), 0);
    const index = this.bestMemberIndex();
    const member = this.memberList[index]!;
    const fitness = records.at(-1)?.members[index]?.fitness;
    return {
      mode: this.options.mode,
      evolvePrompts: this.options.evolvePrompts,
      size: this.options.size,
      generations: records.length,
      fitnessEpisodes: count((record) => record.fitnessEpisodes),
      copies: count((record) => record.exploits.length),
      injections: count((record) => (record.injected ? 1 : 0)),
      adoptions: count((record) => (record.adopted ? 1 : 0)),
      mutations: count((record) => record.mutated.length),
      promptAdoptions: count(
        (record) =>
          record.exploits.filter((exploit) => exploit.promptChanged).length +
          (record.adopted?.promptChanged ? 1 : 0),
      ),
      best: {
        index,
        id: member.id,
        hyperparameters: { ...member.hyperparameters },
        ...(member.systemPrompt === undefined ? {} : { systemPrompt: member.systemPrompt }),
        lineage: member.lineage.map((entry) => ({ ...entry })),
        ...(fitness ? { fitness } : {}),
      },
    };
  }

  /**
   * Trains the next gradient-trained member (in turn) for one step, then runs
   * a generation if one is due. With the trainer's `dataParallel` learner
   * (the hybrid engine's worker pool, or a sequential shard learner), each
   * member's gradients are computed on it: the learner's replicas take the
   * member's adapters at every step, so the members share one pool.
   *
   * A step that throws (a data-parallel worker that threw or died, a reward
   * that failed) leaves the population as it was before the step: the
   * member's adapters, optimizer moments, trainer state (step, episodes,
   * random stream, KL controller) and the turn are put back, and the error is
   * rethrown; calling `step` again retries the same member's step exactly.
   */
  async step(): Promise<PopulationStepResult> {
    const trained = this.memberList
      .map((member, index) => (member.gradientTrained ? index : -1))
      .filter((index) => index >= 0);
    const memberIndex = trained[this.cursor % trained.length]!;
    const member = this.memberList[memberIndex]!;
    const trainer = this.useMember(memberIndex);
    const before = trainer.episodes;
    const savedTrainer = structuredClone(trainer.getState());
    const savedOptimizer = optimizerOf(trainer).getState();
    let metrics: StepMetrics;
    try {
      metrics = await trainer.step();
    } catch (error) {
      trainer.setState(savedTrainer);
      optimizerOf(trainer).setState(savedOptimizer);
      this.shared.policy.setWeights(member.weights);
      throw error;
    }
    this.cursor = (this.cursor + 1) % trained.length;
    member.weights = this.shared.policy.getWeights();
    this.episodeCount += trainer.episodes - before;
    let generation: PopulationGenerationRecord | null = null;
    if (Math.floor(this.episodeCount / this.options.everyEpisodes) > this.handledBoundary) {
      generation = await this.runGeneration();
    }
    return { memberIndex, metrics, generation };
  }

  /**
   * Every member's fitness on the fixed fitness subset, the same episodes
   * (scenarios and evaluation seed) for each, with its interval; at the
   * evaluation temperature, or with `fitnessTemperature: 'member'` at each
   * member's own sampling temperature (common random numbers: the same seed
   * draws every member's episodes, so two members that answer alike score alike).
   */
  async evaluateFitness(): Promise<{
    intervals: FitnessInterval[];
    episodes: number;
    judged?: { groups: number; failed: number };
  }> {
    const intervals: FitnessInterval[] = [];
    const trajectories: (readonly Trajectory[])[] = [];
    let episodes = 0;
    for (const [index, member] of this.memberList.entries()) {
      const trainer = this.useMember(index);
      const metrics = await trainer.evaluate({
        scenarios: this.fitnessScenarios,
        ...(member.systemPrompt === undefined ? {} : { systemPrompt: member.systemPrompt }),
        ...(this.options.fitnessTemperature === 'member'
          ? { temperature: trainer.config.generation.temperature }
          : {}),
        ...(this.judge ? { onTrajectories: (list) => trajectories.push(list) } : {}),
        emit: false,
      });
      episodes += metrics.episodes;
      if (this.judge) continue;
      intervals.push(
        this.options.fitness === 'success'
          ? fitnessInterval({
              mean: metrics.successRate,
              count: metrics.episodes,
              confidence: this.options.confidence,
            })
          : fitnessInterval({
              mean: metrics.rewardMean,
              count: metrics.episodes,
              standardDeviation: metrics.rewardStd,
              confidence: this.options.confidence,
            }),
      );
    }
    if (this.judge) return { ...(await this.judgeFitness(this.judge, trajectories)), episodes };
    return { intervals, episodes };
  }

  /**
   * RULER-style fitness: fitness episode `e` of every member (the same
   * scenario and seed) forms one group the judge scores side by side, shown
   * in an order shuffled per group (from the population seed, the generation
   * and `e`, so a judge's position bias favours no member); a member's
   * fitness is the mean of its scores. A failed judge call scores its group
   * for no member; when every call failed, every member gets the same
   * uninformative interval [0, 1] (count 0), a tie that changes nothing.
   */
  private async judgeFitness(
    judge: Pick<JudgeRanker, 'scoreGroup'>,
    trajectories: (readonly Trajectory[])[],
  ): Promise<{ intervals: FitnessInterval[]; judged: { groups: number; failed: number } }> {
    const size = this.memberList.length;
    const groups = Math.min(...trajectories.map((list) => list.length));
    const scores: number[][] = Array.from({ length: size }, () => []);
    let failed = 0;
    for (let episode = 0; episode < groups; episode++) {
      const order = new Random(this.options.seed)
        .fork(`judge-${this.generationCount + 1}-${episode}`)
        .shuffle(Array.from({ length: size }, (_, index) => index));
      const result = await judge.scoreGroup({
        groupId: `population-generation-${this.generationCount + 1}-episode-${episode}`,
        trajectories: order.map((member) => ({
          id: `member-${member}`,
          messages: trajectories[member]![episode]!.messages,
        })),
      });
      if (result.scores.some((score) => score === null)) {
        failed++;
        continue;
      }
      for (const [position, member] of order.entries()) {
        scores[member]!.push(result.scores[position]!);
      }
    }
    const { confidence } = this.options;
    const intervals = scores.map((list): FitnessInterval => {
      if (list.length === 0) {
        return { mean: 0, lower: 0, upper: 1, count: 0, confidence, method: 'normal' };
      }
      // The same statistics as 'reward' fitness (the evaluation's mean and standard deviation).
      const { mean, std } = summarize(list);
      return fitnessInterval({ mean, count: list.length, standardDeviation: std, confidence });
    });
    return { intervals, judged: { groups, failed } };
  }

  /** Runs one generation now (normally {@link step} does, every E episodes). */
  async runGeneration(): Promise<PopulationGenerationRecord> {
    const { intervals, episodes, judged } = await this.evaluateFitness();
    this.generationCount++;
    const record: PopulationGenerationRecord = {
      generation: this.generationCount,
      episode: this.episodeCount,
      fitnessEpisodes: episodes,
      ...(judged ? { judged } : {}),
      members: this.memberList.map((member, index) => ({
        index,
        id: member.id,
        fitness: intervals[index]!,
        hyperparameters: member.hyperparameters,
        ...(member.systemPrompt === undefined ? {} : { systemPrompt: member.systemPrompt }),
        gradientTrained: member.gradientTrained,
      })),
      exploits: [],
      injected: null,
      adopted: null,
      mutated: [],
    };
    const fitness = intervals.map((interval) => interval.mean);
    if (this.options.mode === 'pbt') await this.exploitAndExplore(fitness, record);
    else await this.evolveAroundLearner(fitness, record);
    this.handledBoundary = Math.max(
      this.handledBoundary,
      Math.floor(this.episodeCount / this.options.everyEpisodes),
    );
    this.recordList.push(record);
    return record;
  }

  private async exploitAndExplore(
    fitness: number[],
    record: PopulationGenerationRecord,
  ): Promise<void> {
    const steps = planExploitExplore({
      fitness,
      hyperparameters: this.memberList.map((member) => member.hyperparameters),
      space: this.space,
      quantile: this.options.quantile,
      adoptionMargin: this.options.adoptionMargin,
      perturbationFactors: this.options.perturbationFactors,
      resampleProbability: this.options.resampleProbability,
      random: this.random,
    });
    for (const step of steps) {
      const source = this.memberList[step.source]!;
      const target = this.memberList[step.target]!;
      const optimizerState = optimizerOf(source.trainer).getState();
      const systemPrompt = await this.childPrompt(source.systemPrompt, target.systemPrompt);
      const promptChanged = systemPrompt !== target.systemPrompt;
      this.replaceTrainer(target, step.hyperparameters, systemPrompt);
      optimizerOf(target.trainer).setState(optimizerState);
      target.weights = copyWeights(source.weights);
      target.lineage.push({
        generation: this.generationCount,
        origin: 'exploit',
        fromId: source.id,
      });
      record.exploits.push({
        targetIndex: step.target,
        targetId: target.id,
        sourceId: source.id,
        targetFitness: step.targetFitness,
        sourceFitness: step.sourceFitness,
        hyperparameters: step.hyperparameters,
        promptChanged,
      });
      target.id = this.newId();
    }
  }

  private async evolveAroundLearner(
    fitness: number[],
    record: PopulationGenerationRecord,
  ): Promise<void> {
    const learner = this.memberList[0]!;
    const evolved = fitness.map((_, index) => index).slice(1);
    // Ties: the lower index is better, so the learner (index 0) wins every tie.
    const better = (a: number, b: number) =>
      fitness[a]! > fitness[b]! || (fitness[a] === fitness[b] && a < b);
    const bestEvolved = evolved.reduce((best, index) => (better(index, best) ? index : best));
    const worstEvolved = evolved.reduce((worst, index) => (better(worst, index) ? index : worst));
    const snapshot = this.memberList.map((member) => ({
      id: member.id,
      weights: member.weights,
      systemPrompt: member.systemPrompt,
    }));
    const tournament = (): number => {
      const first = this.random.int(0, fitness.length);
      const second = this.random.int(0, fitness.length);
      return better(first, second) ? first : second;
    };
    for (const index of evolved) {
      const member = this.memberList[index]!;
      if (index === bestEvolved) continue;
      if (index === worstEvolved) {
        member.weights = copyWeights(snapshot[0]!.weights);
        member.systemPrompt = snapshot[0]!.systemPrompt;
        member.lineage.push({
          generation: this.generationCount,
          origin: 'injected',
          fromId: snapshot[0]!.id,
        });
        record.injected = { index, replacedId: member.id };
      } else {
        const parent = tournament();
        const other = tournament();
        member.weights = this.mutateWeights(snapshot[parent]!.weights);
        member.systemPrompt = await this.childPrompt(
          snapshot[parent]!.systemPrompt,
          snapshot[other]!.systemPrompt,
        );
        member.lineage.push({
          generation: this.generationCount,
          origin: 'mutation',
          fromId: snapshot[parent]!.id,
        });
        record.mutated.push(index);
      }
      member.trainer.systemPrompt = member.systemPrompt;
      member.id = this.newId();
    }
    const margin = fitness[bestEvolved]! - fitness[0]!;
    if (margin > this.options.adoptionMargin) {
      const best = snapshot[bestEvolved]!;
      const promptChanged = best.systemPrompt !== learner.systemPrompt;
      learner.weights = copyWeights(best.weights);
      learner.systemPrompt = best.systemPrompt;
      learner.trainer.systemPrompt = best.systemPrompt;
      learner.lineage.push({
        generation: this.generationCount,
        origin: 'adopted',
        fromId: best.id,
      });
      record.adopted = {
        fromId: best.id,
        fitness: fitness[bestEvolved]!,
        learnerFitness: fitness[0]!,
        promptChanged,
      };
      learner.id = this.newId();
    }
  }

  private async childPrompt(
    first: string | undefined,
    second: string | undefined,
  ): Promise<string | undefined> {
    const genome = this.promptGenome;
    if (!this.options.evolvePrompts || genome === undefined || first === undefined) return first;
    let prompt = first;
    if (
      genome.operators.crossover &&
      second !== undefined &&
      this.random.bernoulli(this.options.promptCrossoverRate)
    ) {
      prompt = await genome.operators.crossover(first, second, this.random);
    }
    return genome.operators.mutate(prompt, this.random);
  }

  private mutateWeights(weights: WeightMap): WeightMap {
    const options = {
      standardDeviation: this.options.mutationStandardDeviation,
      geneProbability: this.options.geneProbability,
    };
    return Object.fromEntries(
      Object.entries(weights).map(([name, tensor]) => [
        name,
        { shape: [...tensor.shape], data: gaussianMutation(tensor.data, options, this.random) },
      ]),
    );
  }

  private buildTrainer(hyperparameters: Hyperparameters, systemPrompt: string | undefined) {
    const trainer = new GrpoTrainer<S>({
      ...this.shared,
      config: memberConfig(this.baseConfig, hyperparameters),
      ...(systemPrompt === undefined ? {} : { systemPrompt }),
    });
    trainer.subscribe((event) => this.forward(trainer, event));
    return trainer;
  }

  /** A new trainer with new hyperparameters that keeps the member's step, episodes and random stream. */
  private replaceTrainer(
    member: PopulationMember<S>,
    hyperparameters: Hyperparameters,
    systemPrompt: string | undefined,
  ): void {
    const state = member.trainer.getState();
    optimizerOf(member.trainer).dispose();
    const trainer = this.buildTrainer(hyperparameters, systemPrompt);
    const { systemPrompt: _previous, ...rest } = state;
    trainer.setState({
      ...rest,
      klController: trainer.getState().klController,
      ...(systemPrompt === undefined ? {} : { systemPrompt }),
    });
    member.trainer = trainer;
    member.hyperparameters = hyperparameters;
    member.systemPrompt = systemPrompt;
  }

  private newId(): string {
    return `member-${this.nextId++}`;
  }

  /** The whole population as JSON data: adapters and optimizer moments bit-exact (base64). */
  getState(): AdapterPopulationState {
    return {
      format: 'cohort.trainer.adapter-population',
      version: 1,
      episodes: this.episodeCount,
      handledBoundary: this.handledBoundary,
      generation: this.generationCount,
      cursor: this.cursor,
      nextId: this.nextId,
      random: this.random.getState(),
      members: this.memberList.map((member) => ({
        id: member.id,
        hyperparameters: { ...member.hyperparameters },
        ...(member.systemPrompt === undefined ? {} : { systemPrompt: member.systemPrompt }),
        weights: Object.fromEntries(
          Object.entries(member.weights).map(([name, tensor]) => [
            name,
            { shape: [...tensor.shape], data: float32ToBase64(tensor.data) },
          ]),
        ),
        optimizer: encodeOptimizerState(optimizerOf(member.trainer).getState()),
        trainer: member.trainer.getState(),
        gradientTrained: member.gradientTrained,
        lineage: member.lineage.map((entry) => ({ ...entry })),
      })),
      records: structuredClone(this.recordList),
    };
  }

  /**
   * Restores {@link getState}'s output into a population created with the
   * same options, so that training continues exactly as it would have.
   *
   * @throws ValidationError naming the bad fields of `state`.
   */
  setState(state: AdapterPopulationState): void {
    const issues: { path: string; message: string }[] = [];
    if (state?.format !== 'cohort.trainer.adapter-population' || state.version !== 1) {
      issues.push({
        path: 'format',
        message: 'must be cohort.trainer.adapter-population version 1',
      });
    } else if (!Array.isArray(state.members) || state.members.length !== this.options.size) {
      issues.push({ path: 'members', message: `must hold ${this.options.size} members` });
    }
    if (issues.length > 0) throw new ValidationError({ what: 'adapter population state', issues });
    for (const member of this.memberList) optimizerOf(member.trainer).dispose();
    this.memberList = state.members.map((saved) => {
      const trainer = this.buildTrainer(saved.hyperparameters, saved.systemPrompt);
      trainer.setState(saved.trainer);
      optimizerOf(trainer).setState(decodeOptimizerState(saved.optimizer));
      return {
        id: saved.id,
        hyperparameters: Object.freeze({ ...saved.hyperparameters }),
        systemPrompt: saved.systemPrompt,
        weights: Object.fromEntries(
          Object.entries(saved.weights).map(([name, tensor]) => [
            name,
            { shape: [...tensor.shape], data: base64ToFloat32(tensor.data) },
          ]),
        ),
        trainer,
        gradientTrained: saved.gradientTrained,
        lineage: saved.lineage.map((entry) => ({ ...entry })),
      };
    });
    this.episodeCount = state.episodes;
    this.handledBoundary = state.handledBoundary;
    this.generationCount = state.generation;
    this.cursor = state.cursor;
    this.nextId = state.nextId;
    this.random = Random.fromState(state.random);
    this.recordList.length = 0;
    this.recordList.push(...structuredClone(state.records));
  }

  /** Frees every member's optimizer moments (the shared policy is the caller's). */
  dispose(): void {
    for (const member of this.memberList) optimizerOf(member.trainer).dispose();
  }
}
