import { assertFiniteArray, assertInRange, assertInteger, type Random } from '@cohort/core';

/** Picks parents: returns `count` indices into `fitnesses` (higher fitness is better). */
export interface SelectionStrategy {
  readonly name: string;
  select(fitnesses: readonly number[], count: number, random: Random): number[];
}

/**
 * Tournament selection (Goldberg and Deb 1991): for each parent, draw `size`
 * distinct members uniformly (all of them when the population is smaller)
 * and keep the fittest; ties go to the first drawn. With `size = 1` it is
 * uniform random selection; larger `size` means stronger pressure.
 *
 * @example
 * ```ts
 * tournamentSelection(3).select([0.1, 0.9, 0.5, 0.2], 2, new Random(0));
 * ```
 */
export function tournamentSelection(size: number): SelectionStrategy {
  assertInteger('size', size, 1);
  return {
    name: `tournament(${size})`,
    select(fitnesses, count, random) {
      assertFiniteArray('fitnesses', fitnesses);
      assertInteger('count', count, 0);
      const indices = Array.from({ length: fitnesses.length }, (_, index) => index);
      const drawn = Math.min(size, fitnesses.length);
      const parents: number[] = [];
      for (let pick = 0; pick < count; pick++) {
        const entrants = random.sample(indices, drawn);
        let winner = entrants[0]!;
        for (const entrant of entrants)
          if (fitnesses[entrant]! > fitnesses[winner]!) winner = entrant;
        parents.push(winner);
      }
      return parents;
    },
  };
}

/**
 * Truncation selection (Mühlenbein and Schlierkamp-Voosen 1993): only the top
 * `ceil(fraction * n)` members (at least one) may be parents; each parent is
 * drawn uniformly from them. Ties in fitness keep population order.
 *
 * @example
 * ```ts
 * truncationSelection(0.5).select([0.1, 0.9, 0.5, 0.2], 4, new Random(0)); // only 1 and 2
 * ```
 */
export function truncationSelection(fraction: number): SelectionStrategy {
  assertInRange('fraction', fraction, Number.MIN_VALUE, 1);
  return {
    name: `truncation(${fraction})`,
    select(fitnesses, count, random) {
      assertFiniteArray('fitnesses', fitnesses);
      assertInteger('count', count, 0);
      const ranked = rankByFitness(fitnesses);
      const kept = ranked.slice(0, Math.max(1, Math.ceil(fraction * fitnesses.length)));
      return Array.from({ length: count }, () => random.choice(kept));
    },
  };
}

/** Indices sorted by fitness, best first; equal fitness keeps index order. */
export function rankByFitness(fitnesses: readonly number[]): number[] {
  return Array.from({ length: fitnesses.length }, (_, index) => index).sort(
    (a, b) => fitnesses[b]! - fitnesses[a]! || a - b,
  );
}
