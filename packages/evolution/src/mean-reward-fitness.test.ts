import { type Genome, NonFiniteError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { createGenome } from './genome-kind';
import { meanRewardFitness } from './mean-reward-fitness';

const genome = (id: string, value: number): Genome<number> =>
  createGenome({ id, kind: 'scalar', value, generation: 0 });

describe('meanRewardFitness', () => {
  it('averages the reward over every scenario and seed', async () => {
    const calls: string[] = [];
    const fitness = meanRewardFitness<number, number>({
      scenarios: [1, 10],
      seeds: [100, 200, 300],
      evaluate: ({ genome: scored, scenario, seed }) => {
        calls.push(`${scenario}/${seed}`);
        return scored.value * scenario + seed / 100;
      },
    });
    // value 2: scenario 1 gives 2 + {1, 2, 3}, scenario 10 gives 20 + {1, 2, 3}.
    const expected = (2 + 1 + 2 + 2 + 2 + 3 + (20 + 1 + 20 + 2 + 20 + 3)) / 6;
    expect(await fitness(genome('a', 2))).toBeCloseTo(expected, 12);
    expect(calls).toEqual(['1/100', '1/200', '1/300', '10/100', '10/200', '10/300']);
    expect(fitness.episodesEvaluated).toBe(6);
  });

  it('scores a genome id once, even when asked concurrently', async () => {
    let evaluations = 0;
    const fitness = meanRewardFitness<number, string>({
      scenarios: ['s'],
      seeds: [1],
      evaluate: async ({ genome: scored }) => {
        evaluations++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return scored.value;
      },
    });
    const [first, second] = await Promise.all([fitness(genome('x', 3)), fitness(genome('x', 3))]);
    expect([first, second, await fitness(genome('x', 3))]).toEqual([3, 3, 3]);
    expect(evaluations).toBe(1);
    expect(fitness.genomesEvaluated).toBe(1);
    await fitness(genome('y', 4));
    expect(evaluations).toBe(2);
    fitness.clearCache();
    await fitness(genome('x', 3));
    expect(evaluations).toBe(3);
  });

  it('names the genome, scenario and seed of a non-finite reward, and does not cache the failure', async () => {
    let fail = true;
    const fitness = meanRewardFitness<number, string>({
      scenarios: ['a', 'b'],
      seeds: [7],
      evaluate: ({ scenario }) => (fail && scenario === 'b' ? Number.NaN : 1),
    });
    const error = await Promise.resolve(fitness(genome('g', 0))).catch((caught: unknown) => caught);
    expect(NonFiniteError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/genome g on scenarios\[1\] with seed 7/);
    fail = false;
    expect(await fitness(genome('g', 0))).toBe(1);
  });

  it('rejects empty scenario or seed lists', () => {
    const evaluate = () => 0;
    expect(() => meanRewardFitness({ scenarios: [], seeds: [1], evaluate })).toThrow(/scenarios/);
    expect(() => meanRewardFitness({ scenarios: [1], seeds: [], evaluate })).toThrow(/seeds/);
    expect(() => meanRewardFitness({ scenarios: [1], seeds: [Number.NaN], evaluate })).toThrow(
      /seeds\[0\]/,
    );
  });
});
