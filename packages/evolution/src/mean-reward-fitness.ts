import type { FitnessFunction, Genome } from '@cohort/core';
import { assertInteger, InvalidArgumentError, NonFiniteError } from '@cohort/core';

/** Options of {@link meanRewardFitness}. */
export interface MeanRewardFitnessOptions<Value, Scenario> {
  /** The fixed evaluation scenarios. */
  scenarios: readonly Scenario[];
  /** The fixed seeds; every scenario is run once per seed. */
  seeds: readonly number[];
  /** Runs one episode of `genome` on `scenario` with `seed` and returns its reward. */
  evaluate(input: {
    genome: Genome<Value>;
    scenario: Scenario;
    seed: number;
  }): Promise<number> | number;
  /** Cached scores kept, oldest dropped first. Default 10 000. */
  maximumCacheEntries?: number;
}

/** A {@link FitnessFunction} that also reports how often it really evaluated. */
export interface CachedFitnessFunction<Value> extends FitnessFunction<Value> {
  /** Episodes run so far (scenarios x seeds per genome scored, cache hits excluded). */
  readonly episodesEvaluated: number;
  /** Genomes scored so far (cache misses). */
  readonly genomesEvaluated: number;
  /** Forgets every cached score (for example after the environment changed). */
  clearCache(): void;
}

/**
 * Fitness as the mean reward over a fixed set of evaluation scenarios and
 * fixed seeds: `F(g) = (1 / (|S| |Z|)) * sum_{s in S} sum_{z in Z} R(g, s, z)`.
 * Episodes run one after another, scenarios in order, seeds inner. Scores are
 * cached per genome id, so an elite or a re-submitted genome is not scored
 * twice (a concurrent request for the same id shares one evaluation).
 *
 * @throws InvalidArgumentError when `scenarios` or `seeds` is empty.
 * @throws NonFiniteError naming the genome, scenario index and seed when a reward is not finite.
 *
 * @example
 * ```ts
 * const fitness = meanRewardFitness({
 *   scenarios: ['refund', 'greeting'],
 *   seeds: [1, 2],
 *   evaluate: ({ genome, scenario }) => (genome.value.includes(scenario) ? 1 : 0),
 * });
 * ```
 */
export function meanRewardFitness<Value, Scenario>(
  options: MeanRewardFitnessOptions<Value, Scenario>,
): CachedFitnessFunction<Value> {
  const { scenarios, seeds, evaluate } = options;
  if (scenarios.length === 0) {
    throw new InvalidArgumentError({
      argument: 'scenarios',
      value: scenarios,
      message: 'is empty',
    });
  }
  if (seeds.length === 0) {
    throw new InvalidArgumentError({ argument: 'seeds', value: seeds, message: 'is empty' });
  }
  seeds.forEach((seed, index) => {
    if (!Number.isFinite(seed)) {
      throw new InvalidArgumentError({
        argument: `seeds[${index}]`,
        value: seed,
        message: 'must be finite',
      });
    }
  });
  const maximumCacheEntries = options.maximumCacheEntries ?? 10_000;
  assertInteger('maximumCacheEntries', maximumCacheEntries, 1);
  const cache = new Map<string, Promise<number>>();
  let episodesEvaluated = 0;
  let genomesEvaluated = 0;

  async function score(genome: Genome<Value>): Promise<number> {
    genomesEvaluated++;
    let sum = 0;
    for (let scenarioIndex = 0; scenarioIndex < scenarios.length; scenarioIndex++) {
      for (const seed of seeds) {
        const reward = await evaluate({ genome, scenario: scenarios[scenarioIndex]!, seed });
        episodesEvaluated++;
        if (!Number.isFinite(reward)) {
          throw new NonFiniteError({
            quantity: `reward of genome ${genome.id} on scenarios[${scenarioIndex}] with seed ${seed}`,
            value: reward,
          });
        }
        sum += reward;
      }
    }
    return sum / (scenarios.length * seeds.length);
  }

  const fitness = ((genome: Genome<Value>) => {
    const cached = cache.get(genome.id);
    if (cached) return cached;
    const pending = score(genome);
    // A failed evaluation must not poison the cache.
    pending.catch(() => cache.delete(genome.id));
    cache.set(genome.id, pending);
    if (cache.size > maximumCacheEntries) cache.delete(cache.keys().next().value!);
    return pending;
  }) as CachedFitnessFunction<Value>;
  Object.defineProperties(fitness, {
    episodesEvaluated: { get: () => episodesEvaluated },
    genomesEvaluated: { get: () => genomesEvaluated },
    clearCache: { value: () => cache.clear() },
  });
  return fitness;
}
