import {
  type GenerationSummary,
  type Genome,
  InvalidArgumentError,
  NonFiniteError,
  type Population,
} from '@cohort/core';

/** Options of {@link runHybridGeneration}. */
export interface HybridGenerationOptions<Value> {
  /**
   * The population. When it has an `evaluate()` method (as `EvolutionaryPopulation`
   * does), unscored members are scored first, so that the injection replaces the
   * truly worst member.
   */
  population: Population<Value> & { evaluate?(): Promise<unknown> };
  /** The gradient-trained policy's current value (its prompt, weights or hyperparameters). */
  trainedValue: Value;
  /**
   * The trained policy's fitness, when the trainer already measured it with the
   * population's fitness function; otherwise the population scores the injected genome.
   */
  trainedFitness?: number;
  /** A member is adopted only when `fitness > trainedFitness + adoptionMargin`. Default 0. */
  adoptionMargin?: number;
  /** Origin of the injected genome. Default `'injected'`. */
  origin?: string;
}

/** The outcome of one hybrid generation: what evolution found and whether to adopt it. */
export interface AdoptionDecision<Value> {
  /** True when `genome` beats the trained policy by more than the margin (PBT exploit). */
  adopt: boolean;
  /** The best member after the generation. */
  genome: Genome<Value>;
  fitness: number;
  trainedFitness: number;
  /** `fitness - trainedFitness` (compare with `adoptionMargin`). */
  margin: number;
  adoptionMargin: number;
  /** The genome that carried the trained policy into the population. */
  injectedGenome: Genome<Value>;
  /** The summary of the generation just made. */
  summary: GenerationSummary;
}

/**
 * One step of the hybrid schedule: injects the gradient-trained policy's value
 * in place of the worst member (ERL, Khadka and Tumer 2018), runs one
 * generation (`population.evolve()`: the injected genome is scored, may be
 * selected as a parent, and survives as an elite if it is the best), then
 * compares the best member with the trained policy: adopt when
 * `F(best) > F(trained) + adoptionMargin` (PBT's exploit step, Jaderberg et al.
 * 2017). Evolution uses fitness only, never gradients.
 *
 * @throws InvalidArgumentError naming `adoptionMargin` when it is negative or not finite,
 * or `population` when it kept no fitness for the injected genome and none was given.
 *
 * @example
 * ```ts
 * const decision = await runHybridGeneration({ population, trainedValue: currentPrompt, adoptionMargin: 0.05 });
 * if (decision.adopt) currentPrompt = decision.genome.value;
 * ```
 */
export async function runHybridGeneration<Value>(
  options: HybridGenerationOptions<Value>,
): Promise<AdoptionDecision<Value>> {
  const adoptionMargin = options.adoptionMargin ?? 0;
  if (!Number.isFinite(adoptionMargin) || adoptionMargin < 0) {
    throw new InvalidArgumentError({
      argument: 'adoptionMargin',
      value: adoptionMargin,
      message: 'must be a finite number >= 0',
    });
  }
  if (options.trainedFitness !== undefined && !Number.isFinite(options.trainedFitness)) {
    throw new NonFiniteError({ quantity: 'trainedFitness', value: options.trainedFitness });
  }
  const { population } = options;
  if (typeof population.evaluate === 'function') await population.evaluate();

  // EvolutionaryPopulation.inject takes a known fitness as a third argument; other
  // Population implementations ignore it and score the genome themselves.
  const inject = population.inject as (
    value: Value,
    origin?: string,
    extra?: { fitness?: number },
  ) => Genome<Value>;
  const injectedGenome = inject.call(
    population,
    options.trainedValue,
    options.origin ?? 'injected',
    {
      fitness: options.trainedFitness,
    },
  );
  const summary = await population.evolve();
  const trainedFitness = options.trainedFitness ?? population.fitnessOf(injectedGenome.id);
  if (trainedFitness === undefined) {
    throw new InvalidArgumentError({
      argument: 'population',
      value: injectedGenome.id,
      message: 'kept no fitness for the injected genome after evolve(); pass trainedFitness',
    });
  }
  const best = population.best();
  if (best === undefined) {
    throw new InvalidArgumentError({
      argument: 'population',
      value: summary.generation,
      message: 'has no evaluated member after evolve()',
    });
  }
  const margin = best.fitness - trainedFitness;
  return {
    adopt: best.genome.id !== injectedGenome.id && margin > adoptionMargin,
    genome: best.genome,
    fitness: best.fitness,
    trainedFitness,
    margin,
    adoptionMargin,
    injectedGenome,
    summary,
  };
}
