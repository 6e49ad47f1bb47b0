import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initializeBackend, type LlamaModel, type WeightMap } from '@cohort/tfjs';
import { loadCheckpoint } from '@cohort/tfjs/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterPopulation } from './adapter-population';
import { GrpoTrainer } from './grpo-trainer';
import { parseMetricsLog } from './metrics-log';
import type { PopulationScheduleOptionsInput } from './population-schedule-options';
import type { ScenarioLike } from './reward-scoring-stage';
import { pretrainedBase, sharedParts, trainerConfig } from './test-support/population-fixture';
import { TrainingRun, type TrainingRunEvent } from './training-run';

let baseWeights: WeightMap;
let scratch = '';
const models: LlamaModel[] = [];
const populations: AdapterPopulation<ScenarioLike>[] = [];

beforeAll(async () => {
  await initializeBackend({ logger: false });
  baseWeights = pretrainedBase();
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-population-run-'));
});

afterAll(async () => {
  for (const population of populations) population.dispose();
  for (const model of models) model.dispose();
  await rm(scratch, { recursive: true, force: true });
});

const schedule: PopulationScheduleOptionsInput = {
  size: 3,
  // 4 episodes a step: a generation after every second step of the population.
  everyEpisodes: 8,
  adoptionMargin: 0,
  quantile: 0.5,
  fitness: 'reward',
  fitnessScenarios: 1,
  seed: 2,
};

/** A run over a fresh population on its own copy of the base, and the trainer that stands for its deployed member. */
async function populationRun(directory: string, steps: number, events: TrainingRunEvent[] = []) {
  const parts = sharedParts(baseWeights, models);
  const config = { ...trainerConfig, checkpoint: { everySteps: 3, keep: 2 } };
  const population = await AdapterPopulation.create<ScenarioLike>({
    trainer: parts,
    config,
    population: schedule,
  });
  populations.push(population);
  const trainer = new GrpoTrainer<ScenarioLike>({ ...parts, config });
  const run = new TrainingRun<ScenarioLike>({
    trainer,
    runDirectory: directory,
    steps,
    population,
    onEvent: (event) => events.push(event),
  });
  return { run, trainer, population };
}

/** Metrics lines without their wall-clock fields. */
async function loggedRecords(directory: string) {
  const records = parseMetricsLog(await readFile(path.join(directory, 'metrics.jsonl'), 'utf8'));
  return records.map(({ time: _time, timings: _timings, stepSeconds: _seconds, ...rest }) => {
    const { tokensPerSecond: _speed, ...kept } = rest as Record<string, unknown>;
    return kept;
  });
}

describe('TrainingRun with an adapter population', () => {
  it('counts steps over the population, logs each generation, deploys the fittest member, and checkpoints the whole population', async () => {
    const directory = path.join(scratch, 'whole');
    const events: TrainingRunEvent[] = [];
    const { run, trainer, population } = await populationRun(directory, 6, events);
    const summary = await run.run();

    expect(summary.stepsCompleted).toBe(6);
    expect(trainer.currentStep).toBe(6);
    expect(population.steps).toBe(6);
    expect(trainer.episodes).toBe(population.episodes);
    const records = await loggedRecords(directory);
    expect(records.filter((record) => record.kind === 'step').map((record) => record.step)).toEqual(
      [1, 2, 3, 4, 5, 6],
    );
    // The member events arrive renumbered: one rollouts and one step event per population step.
    expect(events.filter((event) => event.type === 'step').length).toBe(6);
    const generations = records.filter((record) => record.kind === 'population');
    expect(generations.map((record) => record.step)).toEqual([2, 4, 6]);
    expect(generations.map((record) => record.episode)).toEqual([8, 16, 24]);
    expect(events.filter((event) => event.type === 'population')).toHaveLength(3);
    // Each line names where every measured member came from, before that generation's changes.
    type Lineage = { origin: string; generation: number; fromId?: string };
    const lineages = generations.map((record) => record.lineage as Lineage[]);
    expect(lineages[0]!.map((entry) => entry.generation)).toEqual([0, 0, 0]);
    const exploited = population.records.findIndex((record) => record.exploits.length > 0);
    const [exploit] = population.records[exploited]!.exploits;
    const target = population.members[exploit!.targetIndex]!;
    expect(target.lineage).toContainEqual({
      generation: exploited + 1,
      origin: 'exploit',
      fromId: exploit!.sourceId,
    });
    const logged = lineages[exploited]![exploit!.targetIndex]!;
    expect(logged.generation).toBeLessThan(exploited + 1);

    // The policy and the trainer now hold the deployed member: the fittest of the last generation.
    const best = population.bestMemberIndex();
    const last = population.records.at(-1)!;
    const fittest = Math.max(...last.members.map((member) => member.fitness.mean));
    expect(last.members[best]!.fitness.mean).toBe(fittest);
    expect(generations.at(-1)!.best).toBe(best);
    const deployed = trainer.policy.getWeights();
    for (const [name, tensor] of Object.entries(population.members[best]!.weights))
      expect(Array.from(deployed[name]!.data)).toEqual(Array.from(tensor.data));

    // The summary counts what the generation records hold.
    const copies = population.records.reduce((sum, record) => sum + record.exploits.length, 0);
    expect(copies).toBeGreaterThan(0);
    expect(summary.population).toMatchObject({
      mode: 'pbt',
      size: 3,
      generations: 3,
      copies,
      adoptions: 0,
      promptAdoptions: 0,
      best: { index: best, id: population.members[best]!.id },
    });
    expect(summary.population?.fitnessEpisodes).toBe(3 * 3 * 8);

    const [checkpoint] = await readdir(path.join(directory, 'checkpoints'));
    const saved = await loadCheckpoint(path.join(directory, 'checkpoints', checkpoint!));
    expect(saved.metadata?.adapterPopulation).toBeDefined();
  });

  it('resumes a population run exactly from its checkpoint', async () => {
    const whole = path.join(scratch, 'uninterrupted');
    const reference = await populationRun(whole, 6);
    await reference.run.run();

    const interrupted = path.join(scratch, 'interrupted');
    // A run of 3 steps (a checkpoint at 3), continued to 6 by a fresh process's objects.
    const partial = await populationRun(interrupted, 3);
    await partial.run.run();
    const resumed = await populationRun(interrupted, 6);
    expect(await resumed.run.resume()).toBe(3);
    expect(resumed.trainer.currentStep).toBe(3);
    await resumed.run.run();

    expect(resumed.population.getState()).toEqual(reference.population.getState());
    expect(await loggedRecords(interrupted)).toEqual(await loggedRecords(whole));
  });

  it('refuses prompt evolution beside a population, and a checkpoint without one', async () => {
    const { trainer, population } = await populationRun(path.join(scratch, 'refused'), 1);
    expect(
      () =>
        new TrainingRun<ScenarioLike>({
          trainer,
          runDirectory: path.join(scratch, 'refused'),
          steps: 1,
          population,
          evolution: {} as never,
        }),
    ).toThrow(/evolution.*population/);

    const plain = path.join(scratch, 'plain');
    const parts = sharedParts(baseWeights, models);
    const single = new GrpoTrainer<ScenarioLike>({
      ...parts,
      config: { ...trainerConfig, checkpoint: { everySteps: 1, keep: 1 } },
    });
    await new TrainingRun<ScenarioLike>({ trainer: single, runDirectory: plain, steps: 1 }).run();
    const resumed = await populationRun(plain, 2);
    await expect(resumed.run.resume()).rejects.toThrow(/no population state/);
  });
});
