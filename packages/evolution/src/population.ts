import {
  assertInRange,
  assertInteger,
  type FitnessFunction,
  type GenerationSummary,
  type Genome,
  InvalidArgumentError,
  NonFiniteError,
  type Population,
  Random,
} from '@cohort/core';
import { mapWithConcurrency } from './concurrency';
import { createGenome, type GenomeKind, type ValueCodec } from './genome-kind';
import { decodePopulationState, type PopulationState } from './population-state';
import { rankByFitness, type SelectionStrategy, tournamentSelection } from './selection';
import { jsonValueCodec } from './value-codec';

/** Options of {@link createPopulation}. */
export interface PopulationOptions<Value> {
  /** The genome kind: its name, operators and codec (see `promptGenome`, `parameterVectorGenome`, `hyperparameterGenome`). */
  genome: GenomeKind<Value>;
  /** Starting values, 1 to `size`; the rest of the population is filled with their mutations. */
  initial: readonly Value[];
  /** Members per generation. */
  size: number;
  /** Scores a genome (higher is better); its results are cached per genome id. */
  fitness: FitnessFunction<Value>;
  /** Parent selection. Default `tournamentSelection(3)`. */
  selection?: SelectionStrategy;
  /** Best members copied unchanged (same id, cached fitness) into the next generation. Default 1. */
  elitism?: number;
  /** Probability that a child is the crossover of two parents (when the kind has crossover). Default 0.5. */
  crossoverRate?: number;
  /** Probability that a child is mutated (after crossover, if any). Default 0.9. */
  mutationRate?: number;
  /** Seed of the population's random stream. */
  seed: number | string;
  /** Fitness evaluations and variations in flight at once. Default 4. */
  concurrency?: number;
  /** Genome ids are `${idPrefix}-${n}`. Default the genome kind. */
  idPrefix?: string;
}

/**
 * An evolutionary population implementing `Population` from `@cohort/core`.
 *
 * One `evolve()`: (1) evaluate members without a fitness yet (the initial
 * population, injected genomes) and record generation g's summary the first
 * time it is complete; (2) keep the `elitism` best unchanged; (3) fill the
 * rest with children: two parents by `selection`, crossover with probability
 * `crossoverRate`, then mutation with probability `mutationRate` (a child that
 * got neither is a copy of its first parent and inherits its fitness);
 * (4) evaluate generation g + 1 and record its summary. So after `evolve()`
 * every member has a fitness, and {@link EvolutionaryPopulation.inject}
 * replaces a known worst member (ERL, Khadka and Tumer 2018).
 *
 * Diversity is the mean pairwise distance `2 / (n (n - 1)) * sum_{i<j} d(v_i, v_j)`
 * with the kind's `distance` (without one: 0 for equal JSON encodings, else 1).
 *
 * Determinism: selection draws from the population's stream; each child's
 * variation uses a stream forked by child index, so concurrent (async)
 * operators still give the same result for the same seed.
 *
 * @example
 * ```ts
 * const population = await createPopulation({
 *   genome: parameterVectorGenome(),
 *   initial: [new Float32Array(4)],
 *   size: 8,
 *   fitness: (genome) => -genome.value.reduce((sum, w) => sum + (w - 1) ** 2, 0),
 *   seed: 1,
 * });
 * const summary = await population.evolve();
 * ```
 */
export class EvolutionaryPopulation<Value> implements Population<Value> {
  readonly kind: string;
  readonly size: number;
  private readonly genomeKind: GenomeKind<Value>;
  private readonly fitnessFunction: FitnessFunction<Value>;
  private readonly selection: SelectionStrategy;
  private readonly elitism: number;
  private readonly crossoverRate: number;
  private readonly mutationRate: number;
  private readonly concurrency: number;
  private readonly idPrefix: string;
  private readonly codec: ValueCodec<Value>;
  private random: Random;
  private currentGeneration = 0;
  private nextId = 0;
  private currentMembers: Genome<Value>[] = [];
  private readonly fitnessById = new Map<string, number>();
  private readonly summaries: GenerationSummary[] = [];

  /** Use {@link createPopulation}, which validates the options and fills the initial population. */
  private constructor(options: PopulationOptions<Value>) {
    this.genomeKind = options.genome;
    this.kind = options.genome.kind;
    this.size = options.size;
    this.fitnessFunction = options.fitness;
    this.selection = options.selection ?? tournamentSelection(3);
    this.elitism = options.elitism ?? 1;
    this.crossoverRate = options.crossoverRate ?? 0.5;
    this.mutationRate = options.mutationRate ?? 0.9;
    this.concurrency = options.concurrency ?? 4;
    this.idPrefix = options.idPrefix ?? options.genome.kind;
    this.codec = options.genome.codec ?? jsonValueCodec<Value>();
    this.random = new Random(options.seed);
  }

  /** @internal Builds and fills a population; see {@link createPopulation}. */
  static async create<Value>(
    options: PopulationOptions<Value>,
  ): Promise<EvolutionaryPopulation<Value>> {
    validatePopulationOptions(options);
    const population = new EvolutionaryPopulation(options);
    options.initial.forEach((value, index) => {
      population.genomeKind.validate?.(`initial[${index}]`, value);
      population.currentMembers.push(population.makeGenome(value, [], 'initial'));
    });
    const fillSeed = population.random.seed();
    const missing = options.size - options.initial.length;
    const filled = await mapWithConcurrency(
      Array.from({ length: missing }, (_, index) => index),
      population.concurrency,
      async (index) => {
        const parent = population.currentMembers[index % options.initial.length]!;
        const value = await population.genomeKind.operators.mutate(
          parent.value,
          new Random(fillSeed).fork(index),
        );
        return { parent, value };
      },
    );
    for (const { parent, value } of filled) {
      population.currentMembers.push(population.makeGenome(value, [parent.id], 'mutation'));
    }
    return population;
  }

  get generation(): number {
    return this.currentGeneration;
  }

  get members(): readonly Genome<Value>[] {
    return this.currentMembers;
  }

  get history(): readonly GenerationSummary[] {
    return this.summaries;
  }

  fitnessOf(genomeId: string): number | undefined {
    return this.fitnessById.get(genomeId);
  }

  /** The fittest evaluated member (first one on ties), or undefined before any evaluation. */
  best(): { genome: Genome<Value>; fitness: number } | undefined {
    let result: { genome: Genome<Value>; fitness: number } | undefined;
    for (const genome of this.currentMembers) {
      const fitness = this.fitnessById.get(genome.id);
      if (fitness !== undefined && (result === undefined || fitness > result.fitness)) {
        result = { genome, fitness };
      }
    }
    return result;
  }

  /**
   * Scores every member without a fitness (at most `concurrency` at once) and
   * records this generation's summary if it has none yet. Returns that summary.
   */
  async evaluate(): Promise<GenerationSummary> {
    const pending = this.currentMembers.filter((genome) => !this.fitnessById.has(genome.id));
    const scores = await mapWithConcurrency(pending, this.concurrency, (genome) =>
      this.fitnessFunction(genome),
    );
    pending.forEach((genome, index) => {
      const fitness = scores[index]!;
      if (typeof fitness !== 'number' || !Number.isFinite(fitness)) {
        throw new NonFiniteError({ quantity: `fitness of genome ${genome.id}`, value: fitness });
      }
      this.fitnessById.set(genome.id, fitness);
    });
    const last = this.summaries[this.summaries.length - 1];
    if (last?.generation === this.currentGeneration) return last;
    const summary = this.summarize();
    this.summaries.push(summary);
    return summary;
  }

  async evolve(): Promise<GenerationSummary> {
    await this.evaluate();
    const previous = this.currentMembers;
    const fitnesses = previous.map((genome) => this.fitnessById.get(genome.id)!);
    const ranked = rankByFitness(fitnesses);
    const elites = ranked.slice(0, this.elitism).map((index) => previous[index]!);
    const childCount = this.size - elites.length;
    const parents = this.selection.select(fitnesses, 2 * childCount, this.random);
    const variationSeed = this.random.seed();
    const nextGeneration = this.currentGeneration + 1;
    const operators = this.genomeKind.operators;
    const children = await mapWithConcurrency(
      Array.from({ length: childCount }, (_, index) => index),
      this.concurrency,
      async (index) => {
        const random = new Random(variationSeed).fork(index);
        const first = previous[parents[2 * index]!]!;
        const second = previous[parents[2 * index + 1]!]!;
        let value = first.value;
        const parentIds = [first.id];
        const steps: string[] = [];
        if (operators.crossover && random.bernoulli(this.crossoverRate)) {
          value = await operators.crossover(first.value, second.value, random);
          parentIds.push(second.id);
          steps.push('crossover');
        }
        if (random.bernoulli(this.mutationRate)) {
          value = await operators.mutate(value, random);
          steps.push('mutation');
        }
        return { value, parentIds, origin: steps.length > 0 ? steps.join('+') : 'copy' };
      },
    );
    this.currentGeneration = nextGeneration;
    const next = [...elites];
    for (const [index, child] of children.entries()) {
      this.genomeKind.validate?.(`child ${index} of generation ${nextGeneration}`, child.value);
      const genome = this.makeGenome(child.value, child.parentIds, child.origin);
      if (child.origin === 'copy') {
        // Same value, deterministic fitness: the copy inherits its parent's score.
        this.fitnessById.set(genome.id, this.fitnessById.get(child.parentIds[0]!)!);
      }
      next.push(genome);
    }
    this.currentMembers = next;
    const summary = await this.evaluate();
    // Keep the scores of this and the previous generation (fitnessOf stays valid for
    // genomes that just left, such as an injected policy that lost); drop older ones.
    const kept = new Set([...previous, ...next].map((genome) => genome.id));
    for (const id of [...this.fitnessById.keys()]) if (!kept.has(id)) this.fitnessById.delete(id);
    return summary;
  }

  /**
   * Replaces the worst member with a new genome holding `value` (ERL
   * injection of the gradient-trained policy). Members not yet evaluated rank
   * below every evaluated one (the last of them is replaced first). A known
   * `fitness` (from the same fitness function) is stored so it is not re-scored.
   */
  inject(value: Value, origin = 'injected', options: { fitness?: number } = {}): Genome<Value> {
    this.genomeKind.validate?.('value', value);
    if (options.fitness !== undefined && !Number.isFinite(options.fitness)) {
      throw new NonFiniteError({
        quantity: 'fitness of the injected value',
        value: options.fitness,
      });
    }
    let worstIndex = -1;
    let worstFitness = Number.POSITIVE_INFINITY;
    this.currentMembers.forEach((genome, index) => {
      const fitness = this.fitnessById.get(genome.id) ?? Number.NEGATIVE_INFINITY;
      if (fitness <= worstFitness) {
        worstFitness = fitness;
        worstIndex = index;
      }
    });
    const genome = this.makeGenome(value, [], origin);
    this.currentMembers = this.currentMembers.map((member, index) =>
      index === worstIndex ? genome : member,
    );
    if (options.fitness !== undefined) this.fitnessById.set(genome.id, options.fitness);
    return genome;
  }

  /**
   * Forgets every cached fitness (for a fitness that changed, such as one
   * measured under a policy that has been trained since). Members are
   * re-scored by the next `evaluate` or `evolve`.
   */
  invalidateFitness(): void {
    this.fitnessById.clear();
  }

  /** The whole state as JSON data, values encoded with the kind's codec. */
  getState(): PopulationState {
    return {
      format: 'cohort.evolution.population',
      version: 1,
      kind: this.kind,
      size: this.size,
      generation: this.currentGeneration,
      nextId: this.nextId,
      random: this.random.getState(),
      members: this.currentMembers.map((genome) => ({
        id: genome.id,
        kind: genome.kind,
        value: this.codec.encode(genome.value),
        generation: genome.generation,
        parentIds: [...genome.parentIds],
        origin: genome.origin,
      })),
      fitness: [...this.fitnessById.entries()].map(([id, fitness]) => ({ id, fitness })),
      history: this.summaries.map((summary) => ({ ...summary })),
    };
  }

  /**
   * Restores a state saved by {@link EvolutionaryPopulation.getState} into a
   * population created with the same options (kind and size must match).
   *
   * @throws ValidationError listing the bad fields of `state`.
   */
  restoreState(state: unknown): void {
    const decoded = decodePopulationState(state, { kind: this.kind, size: this.size });
    const members = decoded.members.map((member, index) => {
      const value = this.codec.decode(member.value);
      this.genomeKind.validate?.(`state.members[${index}].value`, value);
      return createGenome({ ...member, value });
    });
    this.random = Random.fromState(decoded.random);
    this.currentGeneration = decoded.generation;
    this.nextId = decoded.nextId;
    this.currentMembers = members;
    this.fitnessById.clear();
    for (const { id, fitness } of decoded.fitness) this.fitnessById.set(id, fitness);
    this.summaries.length = 0;
    this.summaries.push(...decoded.history.map((summary) => ({ ...summary })));
  }

  private makeGenome(value: Value, parentIds: readonly string[], origin: string): Genome<Value> {
    return createGenome({
      id: `${this.idPrefix}-${this.nextId++}`,
      kind: this.kind,
      value,
      generation: this.currentGeneration,
      parentIds,
      origin,
    });
  }

  private summarize(): GenerationSummary {
    const fitnesses = this.currentMembers.map((genome) => this.fitnessById.get(genome.id)!);
    const bestIndex = rankByFitness(fitnesses)[0]!;
    return {
      generation: this.currentGeneration,
      bestFitness: fitnesses[bestIndex]!,
      meanFitness: fitnesses.reduce((sum, fitness) => sum + fitness, 0) / fitnesses.length,
      worstFitness: Math.min(...fitnesses),
      diversity: this.diversity(),
      bestGenomeId: this.currentMembers[bestIndex]!.id,
    };
  }

  private diversity(): number {
    const members = this.currentMembers;
    if (members.length < 2) return 0;
    const distance =
      this.genomeKind.operators.distance ??
      ((first: Value, second: Value) =>
        JSON.stringify(this.codec.encode(first)) === JSON.stringify(this.codec.encode(second))
          ? 0
          : 1);
    let sum = 0;
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) {
        sum += distance(members[i]!.value, members[j]!.value);
      }
    }
    const diversity = (2 * sum) / (members.length * (members.length - 1));
    if (!Number.isFinite(diversity)) {
      throw new NonFiniteError({ quantity: 'population diversity', value: diversity });
    }
    return diversity;
  }
}

function validatePopulationOptions<Value>(options: PopulationOptions<Value>): void {
  const genome = options.genome;
  if (typeof genome?.kind !== 'string' || typeof genome.operators?.mutate !== 'function') {
    throw new InvalidArgumentError({
      argument: 'genome',
      value: genome?.kind,
      message: 'must be a genome kind with a name and a mutate operator',
    });
  }
  if (typeof options.fitness !== 'function') {
    throw new InvalidArgumentError({
      argument: 'fitness',
      value: options.fitness,
      message: 'must be a function',
    });
  }
  assertInteger('size', options.size, 1);
  if (!Array.isArray(options.initial) || options.initial.length === 0) {
    throw new InvalidArgumentError({
      argument: 'initial',
      value: options.initial,
      message: 'must hold at least one value',
    });
  }
  if (options.initial.length > options.size) {
    throw new InvalidArgumentError({
      argument: 'initial.length',
      value: options.initial.length,
      message: `must be <= size (${options.size})`,
    });
  }
  const elitism = options.elitism ?? 1;
  assertInteger('elitism', elitism, 0);
  if (elitism >= options.size) {
    throw new InvalidArgumentError({
      argument: 'elitism',
      value: elitism,
      message: `must be < size (${options.size}), or nothing would change`,
    });
  }
  assertInRange('crossoverRate', options.crossoverRate ?? 0.5, 0, 1);
  assertInRange('mutationRate', options.mutationRate ?? 0.9, 0, 1);
  assertInteger('concurrency', options.concurrency ?? 4, 1);
  if (typeof options.seed !== 'string' && !Number.isFinite(options.seed)) {
    throw new InvalidArgumentError({
      argument: 'seed',
      value: options.seed,
      message: 'must be a finite number or a string',
    });
  }
}

/**
 * Creates an {@link EvolutionaryPopulation}: validates the options, takes the
 * initial values as generation 0 and fills up to `size` with mutations of
 * them (cycling through the initial values).
 *
 * @throws InvalidArgumentError naming the bad option (`size`, `elitism`, `initial.length`, ...).
 *
 * @example
 * ```ts
 * const population = await createPopulation({
 *   genome: promptGenome({ phrases: ['Be concise.', 'Cite the policy.'] }),
 *   initial: ['You are a support agent.'],
 *   size: 8,
 *   fitness: (genome) => (genome.value.includes('Cite the policy.') ? 1 : 0),
 *   seed: 42,
 * });
 * ```
 */
export function createPopulation<Value>(
  options: PopulationOptions<Value>,
): Promise<EvolutionaryPopulation<Value>> {
  return EvolutionaryPopulation.create(options);
}
