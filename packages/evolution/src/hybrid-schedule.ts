import {
  assertInteger,
  InvalidArgumentError,
  type Population,
  ValidationError,
} from '@cohort/core';
import { type AdoptionDecision, runHybridGeneration } from './hybrid-generation';

/** Options of {@link HybridEvolutionSchedule}. */
export interface HybridEvolutionScheduleOptions {
  /** A generation runs every E episodes; 0 turns evolution off. */
  everyEpisodes: number;
  /** A member is adopted only when it beats the trained policy by more than this. Default 0. */
  adoptionMargin?: number;
}

/** Metrics of one hybrid generation (what the trainer logs). */
export interface HybridGenerationRecord {
  /** The population's generation after this step. */
  generation: number;
  /** Episodes seen when it ran. */
  episode: number;
  bestFitness: number;
  meanFitness: number;
  worstFitness: number;
  diversity: number;
  injectedGenomeId: string;
  trainedFitness: number;
  adopted: boolean;
  /** The adopted genome, or null. */
  adoptedGenomeId: string | null;
  adoptedOrigin: string | null;
  /** Best fitness minus the trained policy's. */
  margin: number;
}

/** The JSON state of a {@link HybridEvolutionSchedule}. */
export interface HybridEvolutionScheduleState {
  episodes: number;
  handledBoundary: number;
  generationsRun: number;
  skippedGenerations: number;
  records: HybridGenerationRecord[];
}

/**
 * When to run a generation of evolution during gradient training, and the
 * record of what each generation did.
 *
 * Boundaries sit at every multiple of `everyEpisodes` (E): 0 < E, 2E, 3E, ...
 * They are anchored to the episode count, so the schedule never drifts. A
 * generation is due once the count has passed a boundary not yet handled.
 * Convention for batches that cross several boundaries at once (E = 4 and a
 * batch of 8 episodes): ONE generation runs, and the others are counted in
 * `skippedGenerations`. Running the second one would inject the same, unchanged
 * trained policy again and make gradient training wait for two evaluations,
 * while the issue allows it to wait for at most one. With batches of at most E
 * episodes, exactly one generation runs per boundary.
 *
 * @example
 * ```ts
 * const schedule = new HybridEvolutionSchedule({ everyEpisodes: 16, adoptionMargin: 0.02 });
 * if (schedule.onEpisodes(batch.length)) {
 *   const { decision } = await schedule.runGeneration({ population, trainedValue: prompt });
 *   if (decision.adopt) prompt = decision.genome.value;
 * }
 * ```
 */
export class HybridEvolutionSchedule {
  readonly everyEpisodes: number;
  readonly adoptionMargin: number;
  private episodeCount = 0;
  private handledBoundary = 0;
  private generationCount = 0;
  private skipped = 0;
  private readonly recordList: HybridGenerationRecord[] = [];

  constructor(options: HybridEvolutionScheduleOptions) {
    assertInteger('everyEpisodes', options.everyEpisodes, 0);
    const adoptionMargin = options.adoptionMargin ?? 0;
    if (!Number.isFinite(adoptionMargin) || adoptionMargin < 0) {
      throw new InvalidArgumentError({
        argument: 'adoptionMargin',
        value: adoptionMargin,
        message: 'must be a finite number >= 0',
      });
    }
    this.everyEpisodes = options.everyEpisodes;
    this.adoptionMargin = adoptionMargin;
  }

  /** False when `everyEpisodes` is 0. */
  get enabled(): boolean {
    return this.everyEpisodes > 0;
  }

  /** Episodes counted so far. */
  get episodes(): number {
    return this.episodeCount;
  }

  get generationsRun(): number {
    return this.generationCount;
  }

  /** Boundaries passed by a batch that had already crossed one (see the class comment). */
  get skippedGenerations(): number {
    return this.skipped;
  }

  /** One record per generation run, in order. */
  get records(): readonly HybridGenerationRecord[] {
    return this.recordList;
  }

  /** Counts `count` finished episodes; returns whether a generation is now due. */
  onEpisodes(count: number): boolean {
    assertInteger('count', count, 0);
    this.episodeCount += count;
    return this.shouldRunGeneration();
  }

  /**
   * Whether a generation is due at `episodeCount` (default: the counted
   * episodes): `E > 0` and `floor(episodeCount / E)` is past the last handled boundary.
   */
  shouldRunGeneration(episodeCount = this.episodeCount): boolean {
    assertInteger('episodeCount', episodeCount, 0);
    return this.enabled && Math.floor(episodeCount / this.everyEpisodes) > this.handledBoundary;
  }

  /**
   * Runs one hybrid generation ({@link runHybridGeneration}) with this
   * schedule's margin, marks every boundary up to `episodeCount` as handled,
   * and records the metrics.
   *
   * @throws InvalidArgumentError naming `everyEpisodes` when evolution is off.
   */
  async runGeneration<Value>(options: {
    population: Population<Value> & { evaluate?(): Promise<unknown> };
    trainedValue: Value;
    trainedFitness?: number;
    episodeCount?: number;
  }): Promise<{ decision: AdoptionDecision<Value>; record: HybridGenerationRecord }> {
    if (!this.enabled) {
      throw new InvalidArgumentError({
        argument: 'everyEpisodes',
        value: this.everyEpisodes,
        message: 'is 0: evolution is off',
      });
    }
    const episodeCount = options.episodeCount ?? this.episodeCount;
    assertInteger('episodeCount', episodeCount, 0);
    const decision = await runHybridGeneration({
      population: options.population,
      trainedValue: options.trainedValue,
      trainedFitness: options.trainedFitness,
      adoptionMargin: this.adoptionMargin,
    });
    const boundary = Math.floor(episodeCount / this.everyEpisodes);
    this.skipped += Math.max(0, boundary - this.handledBoundary - 1);
    this.handledBoundary = Math.max(this.handledBoundary, boundary);
    this.generationCount++;
    const record: HybridGenerationRecord = {
      generation: decision.summary.generation,
      episode: episodeCount,
      bestFitness: decision.summary.bestFitness,
      meanFitness: decision.summary.meanFitness,
      worstFitness: decision.summary.worstFitness,
      diversity: decision.summary.diversity,
      injectedGenomeId: decision.injectedGenome.id,
      trainedFitness: decision.trainedFitness,
      adopted: decision.adopt,
      adoptedGenomeId: decision.adopt ? decision.genome.id : null,
      adoptedOrigin: decision.adopt ? decision.genome.origin : null,
      margin: decision.margin,
    };
    this.recordList.push(record);
    return { decision, record };
  }

  getState(): HybridEvolutionScheduleState {
    return {
      episodes: this.episodeCount,
      handledBoundary: this.handledBoundary,
      generationsRun: this.generationCount,
      skippedGenerations: this.skipped,
      records: this.recordList.map((record) => ({ ...record })),
    };
  }

  /** @throws ValidationError naming the bad counters of `state`. */
  restoreState(state: HybridEvolutionScheduleState): void {
    const counters = [
      'episodes',
      'handledBoundary',
      'generationsRun',
      'skippedGenerations',
    ] as const;
    const issues: { path: string; message: string }[] = counters
      .filter((name) => !Number.isInteger(state?.[name]) || state[name] < 0)
      .map((name) => ({ path: name, message: 'must be an integer >= 0' }));
    if (!Array.isArray(state?.records))
      issues.push({ path: 'records', message: 'must be an array' });
    if (issues.length > 0) throw new ValidationError({ what: 'hybrid schedule state', issues });
    this.episodeCount = state.episodes;
    this.handledBoundary = state.handledBoundary;
    this.generationCount = state.generationsRun;
    this.skipped = state.skippedGenerations;
    this.recordList.length = 0;
    this.recordList.push(...state.records.map((record) => ({ ...record })));
  }
}
