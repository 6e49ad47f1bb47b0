import type { Random } from './random';

/**
 * One member of an evolutionary population. `value` is the heritable content
 * (a system prompt, a weight vector, hyperparameters); the rest is lineage.
 * Genomes are immutable: operators return new genomes.
 */
export interface Genome<Value = unknown> {
  readonly id: string;
  readonly kind: string;
  readonly value: Value;
  /** Generation in which this genome was created. */
  readonly generation: number;
  readonly parentIds: readonly string[];
  /** How it was made: `initial`, `mutation`, `crossover`, `injected`, ... */
  readonly origin: string;
}

/** Variation operators for one kind of genome value. */
export interface GenomeOperators<Value = unknown> {
  mutate(value: Value, random: Random): Value | Promise<Value>;
  crossover?(first: Value, second: Value, random: Random): Value | Promise<Value>;
  /** Distance between two values, for diversity metrics (>= 0, 0 for equal values). */
  distance?(first: Value, second: Value): number;
}

/** Scores a genome; higher is better. Must be deterministic for a genome (it is cached by id). */
export type FitnessFunction<Value = unknown> = (genome: Genome<Value>) => Promise<number> | number;

/** Summary of one generation. */
export interface GenerationSummary {
  generation: number;
  bestFitness: number;
  meanFitness: number;
  worstFitness: number;
  diversity: number;
  bestGenomeId: string;
}

/**
 * A population that evolves by generations. Guarantees: with the same seed,
 * fitness function and operators, the same sequence of generations.
 */
export interface Population<Value = unknown> {
  readonly generation: number;
  readonly members: readonly Genome<Value>[];
  readonly history: readonly GenerationSummary[];
  /** Fitness of a member, once evaluated. */
  fitnessOf(genomeId: string): number | undefined;
  /** Evaluates, selects and varies: one generation. */
  evolve(): Promise<GenerationSummary>;
  /** Replaces the worst member with `value` (ERL injection); returns the new genome. */
  inject(value: Value, origin?: string): Genome<Value>;
  best(): { genome: Genome<Value>; fitness: number } | undefined;
}
