import { Random } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import type { GenomeKind } from './genome-kind';
import { runHybridGeneration } from './hybrid-generation';
import { HybridEvolutionSchedule } from './hybrid-schedule';
import { createPopulation } from './population';

const scalarKind: GenomeKind<number> = {
  kind: 'scalar',
  operators: {
    mutate: (value, random) => value + random.normal(0, 0.5),
    distance: (first, second) => Math.abs(first - second),
  },
};

/** Reference: episode counts at which a generation runs, simulated by boundary index. */
function expectedRuns(every: number, batches: number[]): number[] {
  const runs: number[] = [];
  let total = 0;
  let handled = 0;
  for (const batch of batches) {
    total += batch;
    const boundary = Math.floor(total / every);
    if (boundary > handled) {
      runs.push(total);
      handled = boundary;
    }
  }
  return runs;
}

describe('HybridEvolutionSchedule timing', () => {
  it('runs a generation exactly every E episodes for batches of at most E', async () => {
    for (const every of [1, 3, 4, 7]) {
      for (const batchSize of [1, 2, 3]) {
        if (batchSize > every) continue;
        const population = await createPopulation({
          genome: scalarKind,
          initial: [0],
          size: 2,
          fitness: (genome) => genome.value,
          seed: every,
        });
        const schedule = new HybridEvolutionSchedule({ everyEpisodes: every });
        const runs: number[] = [];
        for (let step = 0; step < 30; step++) {
          if (schedule.onEpisodes(batchSize)) {
            await schedule.runGeneration({ population, trainedValue: 0 });
            runs.push(schedule.episodes);
          }
        }
        // One generation in each window [kE, (k + 1)E), at the first batch that reaches kE.
        const boundaries = Array.from(
          { length: Math.floor((30 * batchSize) / every) },
          (_, k) => (k + 1) * every,
        );
        expect(runs.map((count) => Math.floor(count / every) * every)).toEqual(boundaries);
        expect(runs.every((count, k) => count - boundaries[k]! < batchSize)).toBe(true);
        expect(schedule.skippedGenerations).toBe(0);
        expect(population.generation).toBe(boundaries.length);
      }
    }
  });

  it('is off with E = 0', () => {
    const schedule = new HybridEvolutionSchedule({ everyEpisodes: 0 });
    expect(schedule.onEpisodes(1000)).toBe(false);
    expect(schedule.shouldRunGeneration(10_000)).toBe(false);
    expect(schedule.enabled).toBe(false);
  });

  it('runs one generation for a batch that straddles two boundaries, and counts the skipped one', async () => {
    const population = await createPopulation({
      genome: scalarKind,
      initial: [0],
      size: 4,
      fitness: (genome) => genome.value,
      seed: 1,
    });
    const schedule = new HybridEvolutionSchedule({ everyEpisodes: 4 });
    const batches = [3, 8, 2, 1, 5, 4, 12];
    const runs: number[] = [];
    for (const batch of batches) {
      if (schedule.onEpisodes(batch)) {
        const { record } = await schedule.runGeneration({ population, trainedValue: 0 });
        runs.push(record.episode);
        expect(schedule.shouldRunGeneration()).toBe(false);
      }
    }
    // Totals 3, 11 (crosses 4 and 8), 13 (12), 14, 19 (16), 23 (20), 35 (24, 28 and 32).
    expect(runs).toEqual([11, 13, 19, 23, 35]);
    expect(runs).toEqual(expectedRuns(4, batches));
    expect(schedule.generationsRun).toBe(5);
    expect(schedule.skippedGenerations).toBe(1 + 2);
    expect(schedule.generationsRun + schedule.skippedGenerations).toBe(Math.floor(35 / 4));
    expect(population.generation).toBe(5);
  });

  it('answers shouldRunGeneration for absolute episode counts', () => {
    const schedule = new HybridEvolutionSchedule({ everyEpisodes: 5 });
    expect([0, 4, 5, 9, 10].map((count) => schedule.shouldRunGeneration(count))).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
    expect(() => schedule.shouldRunGeneration(-1)).toThrow(/episodeCount = -1/);
    expect(() => new HybridEvolutionSchedule({ everyEpisodes: 2.5 })).toThrow(
      /everyEpisodes = 2.5/,
    );
    expect(() => new HybridEvolutionSchedule({ everyEpisodes: 2, adoptionMargin: -1 })).toThrow(
      /adoptionMargin = -1/,
    );
  });

  it('restores its counters and records', async () => {
    const population = await createPopulation({
      genome: scalarKind,
      initial: [0],
      size: 3,
      fitness: (genome) => genome.value,
      seed: 2,
    });
    const schedule = new HybridEvolutionSchedule({ everyEpisodes: 2 });
    schedule.onEpisodes(5);
    await schedule.runGeneration({ population, trainedValue: 1 });
    const copy = new HybridEvolutionSchedule({ everyEpisodes: 2 });
    copy.restoreState(JSON.parse(JSON.stringify(schedule.getState())));
    expect(copy.getState()).toEqual(schedule.getState());
    expect(copy.onEpisodes(1)).toBe(true);
    expect(() => copy.restoreState({ ...schedule.getState(), episodes: -2 })).toThrow(/episodes/);
  });
});

describe('runHybridGeneration', () => {
  it('injects the trained policy in place of the worst member and adopts a better member only past the margin', async () => {
    const make = () =>
      createPopulation({
        genome: { ...scalarKind, operators: { ...scalarKind.operators, mutate: (value) => value } },
        initial: [1, 2, 3, 0.5],
        size: 4,
        fitness: (genome) => genome.value,
        elitism: 1,
        mutationRate: 0,
        seed: 3,
      });
    const population = await make();
    await population.evaluate();
    const worst = population.members[3]!;
    // Trained policy scores 2.5; best member 3: margin 0.5.
    const adopted = await runHybridGeneration({
      population,
      trainedValue: 2.5,
      adoptionMargin: 0.4,
    });
    expect(adopted.injectedGenome.origin).toBe('injected');
    expect(adopted.trainedFitness).toBe(2.5);
    expect(adopted.fitness).toBe(3);
    expect(adopted.margin).toBeCloseTo(0.5, 12);
    expect(adopted.adopt).toBe(true);
    expect(adopted.genome.value).toBe(3);
    expect(population.fitnessOf(worst.id)).toBeUndefined();

    const strict = await make();
    const refused = await runHybridGeneration({
      population: strict,
      trainedValue: 2.5,
      adoptionMargin: 0.6,
    });
    expect(refused.adopt).toBe(false);
    expect(refused.margin).toBeCloseTo(0.5, 12);

    const better = await make();
    const trainedWins = await runHybridGeneration({ population: better, trainedValue: 10 });
    expect(trainedWins.adopt).toBe(false);
    expect(trainedWins.genome.id).toBe(trainedWins.injectedGenome.id);
    expect(better.members).toContain(trainedWins.injectedGenome);
  });

  it('re-scores stale members first, so that injection replaces the truly worst', async () => {
    const population = await createPopulation({
      genome: { ...scalarKind, operators: { ...scalarKind.operators, mutate: (value) => value } },
      initial: [2, -5, 3, 1],
      size: 4,
      fitness: (genome) => genome.value,
      mutationRate: 0,
      crossoverRate: 0,
      seed: 6,
    });
    await population.evaluate();
    population.invalidateFitness();
    const inject = population.inject.bind(population);
    let afterInjection: number[] = [];
    population.inject = (value, origin, extra) => {
      const genome = inject(value, origin, extra);
      afterInjection = population.members.map((member) => member.value);
      return genome;
    };
    const decision = await runHybridGeneration({ population, trainedValue: 0 });
    expect(afterInjection).toEqual([2, 0, 3, 1]);
    expect(decision.trainedFitness).toBe(0);
  });

  it('uses a given trained fitness without re-scoring the injected value', async () => {
    const scoredValues: number[] = [];
    const population = await createPopulation({
      genome: scalarKind,
      initial: [0, 1],
      size: 2,
      fitness: (genome) => {
        scoredValues.push(genome.value);
        return genome.value;
      },
      seed: 4,
    });
    const decision = await runHybridGeneration({
      population,
      trainedValue: 0.75,
      trainedFitness: 0.75,
    });
    expect(scoredValues).not.toContain(0.75);
    expect(decision.trainedFitness).toBe(0.75);
    await expect(
      runHybridGeneration({ population, trainedValue: 1, trainedFitness: Number.NaN }),
    ).rejects.toThrow(/trainedFitness/);
  });

  it('records the metrics of every generation', async () => {
    const population = await createPopulation({
      genome: scalarKind,
      initial: [0],
      size: 6,
      fitness: (genome) => -Math.abs(genome.value - 3),
      seed: 5,
    });
    const schedule = new HybridEvolutionSchedule({ everyEpisodes: 3, adoptionMargin: 0.1 });
    const random = new Random(0);
    let trained = 0;
    for (let step = 0; step < 30; step++) {
      trained += 0.05 * random.float();
      if (schedule.onEpisodes(1)) {
        const { decision } = await schedule.runGeneration({ population, trainedValue: trained });
        if (decision.adopt) trained = decision.genome.value;
      }
    }
    expect(schedule.records).toHaveLength(10);
    for (const record of schedule.records) {
      expect(record.bestFitness).toBeGreaterThanOrEqual(record.meanFitness);
      expect(record.meanFitness).toBeGreaterThanOrEqual(record.worstFitness);
      expect(record.adopted).toBe(record.adoptedGenomeId !== null);
      expect(record.adopted).toBe(record.margin > 0.1);
    }
    expect(schedule.records.some((record) => record.adopted)).toBe(true);
  });
});
