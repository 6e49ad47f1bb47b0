import {
  type Genome,
  InvalidArgumentError,
  NonFiniteError,
  Random,
  ValidationError,
} from '@cohort/core';
import { describe, expect, it } from 'vitest';
import type { GenomeKind } from './genome-kind';
import { hyperparameterGenome } from './hyperparameter-genome';
import { sampleHyperparameters } from './hyperparameter-space';
import { parameterVectorGenome } from './parameter-vector-genome';
import { createPopulation } from './population';
import { promptGenome } from './prompt-genome';
import { splitSentences } from './prompt-text';
import { truncationSelection } from './selection';
import { createSpliceRewriter } from './splice-rewriter';

const target = Float32Array.from([1.5, -2, 0.5, 3, -1, 2, -0.5, 1, -3, 0.25]);
const squaredError = (value: Float32Array): number =>
  value.reduce((sum, weight, index) => sum + (weight - target[index]!) ** 2, 0);

const vectorKind = parameterVectorGenome({
  mutation: { geneProbability: 0.3, standardDeviation: 0.3, largeMutationProbability: 0.05 },
});

async function evolveVectors(fitness: (genome: Genome<Float32Array>) => number, seed: number) {
  const population = await createPopulation({
    genome: vectorKind,
    initial: [new Float32Array(target.length)],
    size: 16,
    fitness,
    elitism: 2,
    seed,
  });
  for (let generation = 0; generation < 40; generation++) await population.evolve();
  return population;
}

describe('EvolutionaryPopulation: evolution alone improves fitness', () => {
  it('climbs a known function of a parameter vector, far beyond unselected drift', async () => {
    const evolved = await evolveVectors((genome) => -squaredError(genome.value), 1);
    const first = evolved.history[0]!;
    const last = evolved.history[evolved.history.length - 1]!;
    expect(evolved.history).toHaveLength(41);
    // Start: the zero vector and its mutations, mean squared error about 30.
    expect(first.meanFitness).toBeLessThan(-25);
    expect(last.meanFitness).toBeGreaterThan(-3);
    // Control: same operators and budget, fitness that ignores the genome (a seeded coin).
    const noise = new Random(99);
    const drifted = await evolveVectors(() => noise.float(), 1);
    const driftError =
      drifted.members.reduce((sum, genome) => sum + squaredError(genome.value), 0) /
      drifted.members.length;
    expect(driftError).toBeGreaterThan(20);
    expect(-last.meanFitness * 5).toBeLessThan(driftError);
  });

  it('finds the target phrases of a prompt task', async () => {
    const wanted = ['Cite the refund policy.', 'Greet the customer.', 'Be concise.'];
    const distractors = [
      'Use emojis.',
      'Talk about the weather.',
      'Never apologize.',
      'Write a poem.',
    ];
    const count = (prompt: string) =>
      splitSentences(prompt).reduce(
        (score, sentence) =>
          score + (wanted.includes(sentence) ? 1 : distractors.includes(sentence) ? -0.5 : 0),
        0,
      );
    const population = await createPopulation({
      genome: promptGenome({
        phrases: [...wanted, ...distractors],
        rewrite: createSpliceRewriter({ phrases: [...wanted, ...distractors] }),
      }),
      initial: ['You are a support agent.'],
      size: 12,
      fitness: (genome) => count(genome.value),
      selection: truncationSelection(0.5),
      seed: 3,
    });
    for (let generation = 0; generation < 25; generation++) await population.evolve();
    expect(population.history[0]!.meanFitness).toBeLessThan(0.5);
    expect(population.best()!.fitness).toBe(3);
    // Mutation keeps breaking some children (most edits hurt a good prompt), so the mean
    // settles near 2 of 3 while the start is near 0.
    expect(population.history.at(-1)!.meanFitness).toBeGreaterThan(1.5);
  });

  it('moves hyperparameters toward a known optimum', async () => {
    const space = {
      learningRate: { minimum: 1e-6, maximum: 1e-1, logScale: true },
      clipRange: { minimum: 0.05, maximum: 0.5 },
    };
    const kind = hyperparameterGenome({ space, resampleProbability: 0.1 });
    const loss = (value: { learningRate?: number; clipRange?: number }) =>
      (Math.log10(value.learningRate!) + 3) ** 2 + (10 * (value.clipRange! - 0.2)) ** 2;
    const random = new Random(5);
    const population = await createPopulation({
      genome: kind,
      initial: Array.from({ length: 10 }, () => sampleHyperparameters(space, random)),
      size: 10,
      fitness: (genome) => -loss(genome.value),
      seed: 5,
    });
    for (let generation = 0; generation < 30; generation++) await population.evolve();
    const best = population.best()!.genome.value;
    expect(Math.abs(Math.log10(best.learningRate!) + 3)).toBeLessThan(0.25);
    expect(Math.abs(best.clipRange! - 0.2)).toBeLessThan(0.03);
    expect(population.history.at(-1)!.meanFitness).toBeGreaterThan(
      population.history[0]!.meanFitness + 1,
    );
  });
});

describe('EvolutionaryPopulation: mechanics', () => {
  const scalarKind: GenomeKind<number> = {
    kind: 'scalar',
    operators: {
      mutate: (value, random) => value + random.normal(0, 1),
      crossover: (first, second) => (first + second) / 2,
      distance: (first, second) => Math.abs(first - second),
    },
  };

  it('is deterministic for a seed and differs across seeds', async () => {
    const run = async (seed: number) => {
      const population = await createPopulation({
        genome: scalarKind,
        initial: [0],
        size: 8,
        fitness: (genome) => -((genome.value - 4) ** 2),
        seed,
        concurrency: 3,
      });
      for (let generation = 0; generation < 6; generation++) await population.evolve();
      return {
        history: population.history,
        values: population.members.map((genome) => genome.value),
      };
    };
    expect(await run(7)).toEqual(await run(7));
    expect((await run(8)).values).not.toEqual((await run(7)).values);
  });

  it('keeps elites unchanged with their cached fitness, and scores each genome once', async () => {
    const scored: string[] = [];
    const population = await createPopulation({
      genome: scalarKind,
      initial: [0, 1, 2, 3],
      size: 6,
      fitness: (genome) => {
        scored.push(genome.id);
        return genome.value;
      },
      elitism: 2,
      mutationRate: 1,
      seed: 1,
    });
    await population.evaluate();
    const elites = [...population.members].sort((a, b) => b.value - a.value).slice(0, 2);
    await population.evolve();
    for (const elite of elites) expect(population.members).toContain(elite);
    expect(new Set(scored).size).toBe(scored.length);
    expect(scored).toHaveLength(6 + 4);
    expect(population.generation).toBe(1);
    expect(
      population.members.every((genome) => population.fitnessOf(genome.id) !== undefined),
    ).toBe(true);
  });

  it('computes diversity as the mean pairwise distance and summarizes by hand', async () => {
    const population = await createPopulation({
      genome: scalarKind,
      initial: [0, 1, 4],
      size: 3,
      fitness: (genome) => genome.value * 2,
      seed: 0,
    });
    const summary = await population.evaluate();
    // |0-1| + |0-4| + |1-4| = 8 over 3 pairs.
    expect(summary.diversity).toBeCloseTo(8 / 3, 12);
    expect(summary).toMatchObject({ bestFitness: 8, worstFitness: 0, generation: 0 });
    expect(summary.meanFitness).toBeCloseTo(10 / 3, 12);
    expect(summary.bestGenomeId).toBe(population.members[2]!.id);
  });

  it('injects in place of the worst member (ERL)', async () => {
    const population = await createPopulation({
      genome: scalarKind,
      initial: [5, -3, 9, 1],
      size: 4,
      fitness: (genome) => genome.value,
      seed: 2,
    });
    await population.evaluate();
    const worst = population.members[1]!;
    const injected = population.inject(7);
    expect(population.members).not.toContain(worst);
    expect(population.members[1]).toBe(injected);
    expect(injected).toMatchObject({ origin: 'injected', value: 7, parentIds: [], generation: 0 });
    expect(Object.isFrozen(injected)).toBe(true);
    // A second injection replaces the unevaluated one first.
    const again = population.inject(8, 'injected', { fitness: 8 });
    expect(population.members[1]).toBe(again);
    expect(population.fitnessOf(again.id)).toBe(8);
  });

  it('round-trips its state through JSON and continues identically', async () => {
    const make = () =>
      createPopulation({
        genome: vectorKind,
        initial: [new Float32Array(target.length)],
        size: 6,
        fitness: (genome) => -squaredError(genome.value),
        seed: 11,
      });
    const original = await make();
    for (let generation = 0; generation < 3; generation++) await original.evolve();
    const saved = JSON.parse(JSON.stringify(original.getState()));
    const restored = await make();
    restored.restoreState(saved);
    expect(restored.members.map((genome) => genome.value)).toEqual(
      original.members.map((genome) => genome.value),
    );
    expect(restored.members[0]!.value).toBeInstanceOf(Float32Array);
    for (let generation = 0; generation < 3; generation++) {
      await original.evolve();
      await restored.evolve();
    }
    expect(restored.history).toEqual(original.history);
    expect(restored.getState()).toEqual(original.getState());
  });

  it('rejects a damaged state and bad options with typed errors', async () => {
    const population = await createPopulation({
      genome: scalarKind,
      initial: [0],
      size: 2,
      fitness: () => 0,
      seed: 0,
    });
    const state = population.getState();
    const error = (() => {
      try {
        population.restoreState({ ...state, generation: -1, members: [state.members[0]] });
      } catch (caught) {
        return caught;
      }
    })();
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues.map((issue) => issue.path)).toEqual([
      'generation',
      'members',
    ]);
    const base = { genome: scalarKind, initial: [0], size: 4, fitness: () => 0, seed: 0 };
    await expect(createPopulation({ ...base, elitism: 4 })).rejects.toThrow(/elitism = 4/);
    await expect(createPopulation({ ...base, initial: [] })).rejects.toThrow(InvalidArgumentError);
    await expect(createPopulation({ ...base, initial: [1, 2, 3, 4, 5] })).rejects.toThrow(
      /initial.length = 5/,
    );
    await expect(createPopulation({ ...base, crossoverRate: 2 })).rejects.toThrow(
      /crossoverRate = 2/,
    );
    const broken = await createPopulation({ ...base, fitness: () => Number.NaN });
    const failure = await broken.evolve().catch((caught: unknown) => caught);
    expect(NonFiniteError.isInstance(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/fitness of genome scalar-\d+/);
  });
});
