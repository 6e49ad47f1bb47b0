import { Random } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { rankByFitness, tournamentSelection, truncationSelection } from './selection';

/** Exact probability that the member of rank r (1 = best) wins a k-of-n tournament without replacement. */
function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let result = 1;
  for (let index = 1; index <= k; index++) result = (result * (n - k + index)) / index;
  return result;
}

describe('tournamentSelection', () => {
  it('picks better members more often, at the exact tournament rates', () => {
    const fitnesses = [0.3, 0.9, 0.1, 0.5, 0.7, 0.2];
    const n = fitnesses.length;
    const k = 3;
    const draws = 30_000;
    const counts = new Array<number>(n).fill(0);
    for (const index of tournamentSelection(k).select(fitnesses, draws, new Random(1)))
      counts[index]!++;
    const ranks = rankByFitness(fitnesses);
    ranks.forEach((member, position) => {
      // Rank r wins when it is drawn and the other k - 1 come from the n - r worse ones.
      const expected = binomial(n - position - 1, k - 1) / binomial(n, k);
      expect(Math.abs(counts[member]! / draws - expected)).toBeLessThan(0.012);
    });
    // Monotone: better rank, more picks.
    for (let position = 1; position < n; position++) {
      expect(counts[ranks[position - 1]!]!).toBeGreaterThanOrEqual(counts[ranks[position]!]!);
    }
  });

  it('is uniform with size 1 and always the best with size n', () => {
    const fitnesses = [1, 2, 3, 4];
    const uniform = new Array<number>(4).fill(0);
    for (const index of tournamentSelection(1).select(fitnesses, 8000, new Random(2)))
      uniform[index]!++;
    for (const count of uniform) expect(Math.abs(count / 8000 - 0.25)).toBeLessThan(0.03);
    expect(new Set(tournamentSelection(10).select(fitnesses, 50, new Random(3)))).toEqual(
      new Set([3]),
    );
  });

  it('handles one member, zero picks and rejects NaN fitness', () => {
    expect(tournamentSelection(3).select([5], 3, new Random(0))).toEqual([0, 0, 0]);
    expect(tournamentSelection(3).select([1, 2], 0, new Random(0))).toEqual([]);
    expect(() => tournamentSelection(2).select([1, Number.NaN], 1, new Random(0))).toThrow(
      /fitnesses\[1\]/,
    );
    expect(() => tournamentSelection(0)).toThrow(/size = 0/);
  });
});

describe('truncationSelection', () => {
  it('draws only from the top fraction, uniformly', () => {
    const fitnesses = [0.3, 0.9, 0.1, 0.5, 0.7, 0.2, 0.8, 0.4];
    const counts = new Array<number>(fitnesses.length).fill(0);
    for (const index of truncationSelection(0.25).select(fitnesses, 10_000, new Random(4)))
      counts[index]!++;
    expect(counts.map((count) => count > 0)).toEqual([
      false,
      true,
      false,
      false,
      false,
      false,
      true,
      false,
    ]);
    expect(Math.abs(counts[1]! / 10_000 - 0.5)).toBeLessThan(0.03);
  });

  it('keeps at least one member and rejects fractions outside (0, 1]', () => {
    expect(truncationSelection(0.01).select([1, 3, 2], 4, new Random(0))).toEqual([1, 1, 1, 1]);
    expect(() => truncationSelection(0)).toThrow(/fraction = 0/);
    expect(() => truncationSelection(1.5)).toThrow(/fraction = 1.5/);
  });
});

describe('rankByFitness', () => {
  it('sorts best first, ties in index order', () => {
    expect(rankByFitness([1, 3, 3, -1])).toEqual([1, 2, 0, 3]);
    expect(rankByFitness([])).toEqual([]);
  });
});
