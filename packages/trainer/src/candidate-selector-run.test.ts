import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointError, InvalidArgumentError, Random } from '@cohort/core';
import { keywordReward } from '@cohort/environments';
import { initializeBackend } from '@cohort/tfjs';
import { saveCheckpoint } from '@cohort/tfjs/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHashingFeaturizer } from './candidate-hashing-featurizer';
import { MlpCandidateActor, MlpRewardCritic } from './candidate-models';
import { type CandidateQuery, candidateRewardFromRewards } from './candidate-reward';
import { CandidateSelectorRun, type CandidateSelectorRunEvent } from './candidate-selector-run';
import { type CandidateGenerator, CandidateSelectorTrainer } from './candidate-selector-trainer';
import { createCandidateUpdateRule } from './candidate-selector-update-rule';
import { parseMetricsLog } from './metrics-log';

const good = ['I issued a refund for your order today.', 'A refund for the order is on its way.'];
const bad = ['Please wait while I check.', 'I cannot help with that.', 'Have a nice day.'];
/** One good reply among K = 3 at a seeded position: a random choice is best 1 time in 3. */
const generator: CandidateGenerator = {
  async propose({ count, seed }) {
    const random = new Random(seed);
    const candidates = random.sample(bad, count - 1);
    candidates.splice(random.int(0, count), 0, random.choice(good));
    return candidates;
  },
};
const reward = candidateRewardFromRewards({
  rewards: [
    { reward: keywordReward({ required: ['refund', 'order'], forbidden: ['cannot'] }), weight: 1 },
  ],
});
const queries = (label: string, count: number): CandidateQuery[] =>
  Array.from({ length: count }, (_, index) => ({
    prompt: 'You are a support agent.',
    query: `${label} ${index}?`,
  }));
const trainQueries = queries('Where is my refund for order', 5);
const evalQueries = queries('I want my money back, ticket', 30);

function makeTrainer() {
  const dimension = 32;
  return new CandidateSelectorTrainer({
    generator,
    featurizer: createHashingFeaturizer({ dimension }),
    actor: new MlpCandidateActor({ featureSize: dimension, hiddenSizes: [8], seed: 5 }),
    critic: new MlpRewardCritic({ featureSize: dimension, hiddenSizes: [8], seed: 6 }),
    updateRule: createCandidateUpdateRule({ epochs: 3, klCoefficient: 0.01 }),
    reward,
    candidateCount: 3,
    samplesPerQuery: 3,
    updateEvery: 9,
    seed: 11,
  });
}

function makeRun(options: {
  trainer: ReturnType<typeof makeTrainer>;
  runDirectory: string;
  steps: number;
  events?: CandidateSelectorRunEvent[];
}) {
  return new CandidateSelectorRun({
    trainer: options.trainer,
    runDirectory: options.runDirectory,
    steps: options.steps,
    queriesPerStep: 3,
    trainQueries,
    seed: 2,
    evaluation: { queries: evalQueries, reward, everySteps: 4, seed: 9 },
    checkpoint: { everySteps: 2, keep: 2 },
    onEvent: (event) => options.events?.push(event),
  });
}

function weightsOf(trainer: ReturnType<typeof makeTrainer>) {
  const state = trainer.getState();
  return {
    actor: Object.fromEntries(
      Object.entries(state.actor!).map(([name, tensor]) => [name, Array.from(tensor.data)]),
    ),
    critic: Object.fromEntries(
      Object.entries(state.critic!).map(([name, tensor]) => [name, Array.from(tensor.data)]),
    ),
  };
}

async function stepRecords(directory: string) {
  return parseMetricsLog(await readFile(path.join(directory, 'metrics.jsonl'), 'utf8')).map(
    ({ time: _time, ...record }) => record,
  );
}

let scratch: string;
beforeAll(async () => {
  await initializeBackend({ logger: false });
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-selector-run-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('CandidateSelectorRun', () => {
  it('asks M queries per step in a seeded order that covers every query once per pass', () => {
    const run = makeRun({ trainer: makeTrainer(), runDirectory: scratch, steps: 1 });
    const asked = [1, 2, 3, 4, 5].flatMap((step) => run.queriesOfStep(step).map((q) => q.query));
    // 15 queries = 3 passes over 5: each pass is a permutation of the 5.
    for (let pass = 0; pass < 3; pass++) {
      expect([...asked.slice(pass * 5, pass * 5 + 5)].sort()).toEqual(
        trainQueries.map((query) => query.query).sort(),
      );
    }
    expect(asked.slice(0, 5)).not.toEqual(asked.slice(5, 10));
    expect(run.queriesOfStep(4)).toEqual(run.queriesOfStep(4));
  });

  it('learns to pick the good reply, updating every M queries, logging steps and evaluations', async () => {
    const directory = path.join(scratch, 'learn');
    const events: CandidateSelectorRunEvent[] = [];
    const trainer = makeTrainer();
    const summary = await makeRun({ trainer, runDirectory: directory, steps: 12, events }).run();
    expect(summary.stepsCompleted).toBe(12);
    const before = summary.firstEvaluation!;
    const after = summary.lastEvaluation!;
    expect(before.step).toBe(0);
    expect(after.step).toBe(12);
    expect(before.evaluated).toBe(30);
    // Chance is 1/3 best choices; 30 held-out queries with >= 0.8 best by chance has p < 1e-6.
    expect(before.chanceBestChoiceRate).toBeCloseTo(1 / 3, 12);
    expect(after.bestChoiceRate).toBeGreaterThanOrEqual(0.8);
    expect(after.meanReward).toBeGreaterThan(before.meanReward + 0.2);
    const records = await stepRecords(directory);
    const steps = records.filter((record) => record.kind === 'step');
    expect(steps.map((record) => record.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // Each step: 3 queries x 3 sampled choices, then one update.
    for (const record of steps) {
      expect(record).toMatchObject({ decisions: 9, skipped: 0, updatesApplied: 1 });
      expect(Number.isFinite(record.actorLoss)).toBe(true);
    }
    expect(steps.at(-1)!.actorUpdates).toBe(12);
    expect(
      records.filter((record) => record.kind === 'evaluation').map((record) => record.step),
    ).toEqual([0, 4, 8, 12]);
    expect(await readdir(path.join(directory, 'checkpoints'))).toEqual([
      'step-000010',
      'step-000012',
    ]);
    expect(events.filter((event) => event.type === 'checkpoint')).toHaveLength(6);
  });

  it('resumes exactly: stopped at step 3 and resumed, it ends with the uninterrupted weights', async () => {
    const whole = path.join(scratch, 'whole');
    const wholeTrainer = makeTrainer();
    await makeRun({ trainer: wholeTrainer, runDirectory: whole, steps: 6 }).run();

    const split = path.join(scratch, 'split');
    const stopping = makeRun({ trainer: makeTrainer(), runDirectory: split, steps: 6 });
    let seen = 0;
    const stopAtThree = new CandidateSelectorRun({
      ...stopping.options,
      onEvent: (event) => {
        if (event.type === 'step' && ++seen === 3) stopAtThree.requestStop('test');
      },
    });
    const partial = await stopAtThree.run();
    expect(partial.stepsCompleted).toBe(3);
    expect(await readdir(path.join(split, 'checkpoints'))).toContain('step-000003');

    const resumedTrainer = makeTrainer();
    const resumed = makeRun({ trainer: resumedTrainer, runDirectory: split, steps: 6 });
    expect(await resumed.resume()).toBe(3);
    await resumed.run();
    expect(weightsOf(resumedTrainer)).toEqual(weightsOf(wholeTrainer));
    expect(await stepRecords(split)).toEqual(await stepRecords(whole));
  });

  it('refuses bad options and a checkpoint that is not a candidate selector’s', async () => {
    const trainer = makeTrainer();
    const base = { trainer, runDirectory: scratch, steps: 1 };
    expect(() => new CandidateSelectorRun({ ...makeRun(base).options, steps: 0 })).toThrow(
      /steps.*positive integer/,
    );
    expect(
      () => new CandidateSelectorRun({ ...makeRun(base).options, queriesPerStep: 1.5 }),
    ).toThrow(InvalidArgumentError);
    expect(() => new CandidateSelectorRun({ ...makeRun(base).options, trainQueries: [] })).toThrow(
      /trainQueries/,
    );
    const foreign = path.join(scratch, 'foreign');
    await saveCheckpoint(path.join(foreign, 'checkpoints', 'step-000001'), {
      weights: {},
      metadata: { trainer: { step: 1 } },
    });
    await expect(makeRun({ ...base, runDirectory: foreign }).resume()).rejects.toThrow(
      CheckpointError,
    );
  });
});
