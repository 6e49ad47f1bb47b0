import type { ChatModel } from '@cohort/core';
import { createJudgeRanker } from '@cohort/environments';
import { type GenomeKind, promptGenome } from '@cohort/evolution';
import {
  initializeBackend,
  type LlamaModel,
  type LlamaPolicy,
  type Optimizer,
  type WeightMap,
} from '@cohort/tfjs';
import {
  createDataParallelLearner,
  type DataParallelLearner,
  DataParallelWorkerError,
} from '@cohort/tfjs/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterPopulation, type PopulationMember } from './adapter-population';
import type { GrpoTrainingOptionsInput } from './grpo-training-options';
import { policyShardLossModule } from './policy-shard-loss-module';
import type { PopulationScheduleOptionsInput } from './population-schedule-options';
import type { ScenarioLike } from './reward-scoring-stage';
import { pretrainedBase, sharedParts, trainerConfig } from './test-support/population-fixture';

let baseWeights: WeightMap;
const models: LlamaModel[] = [];
const populations: AdapterPopulation<ScenarioLike>[] = [];

async function makePopulation(
  population: PopulationScheduleOptionsInput,
  extra: {
    systemPrompt?: string;
    promptGenome?: GenomeKind<string>;
    config?: GrpoTrainingOptionsInput;
  } = {},
) {
  const { config, ...rest } = extra;
  const result = await AdapterPopulation.create<ScenarioLike>({
    ...rest,
    trainer: sharedParts(baseWeights, models),
    config: config ?? trainerConfig,
    population: { fitness: 'reward', fitnessScenarios: 1, seed: 2, ...population },
  });
  populations.push(result);
  return result;
}

function optimizerState(member: PopulationMember<ScenarioLike>) {
  return (member.trainer.optimizer as Optimizer).getState();
}

function copyOf(weights: WeightMap): Record<string, number[]> {
  return Object.fromEntries(Object.entries(weights).map(([name, t]) => [name, [...t.data]]));
}

function cloneWeights(weights: WeightMap): WeightMap {
  return Object.fromEntries(
    Object.entries(weights).map(([name, t]) => [
      name,
      { shape: [...t.shape], data: Float32Array.from(t.data) },
    ]),
  );
}

/** Greedy fitness: every episode answers with the most likely arm, so small adapter changes tie. */
const greedyConfig = {
  ...trainerConfig,
  evaluation: { ...trainerConfig.evaluation, temperature: 0 },
} satisfies GrpoTrainingOptionsInput;

beforeAll(async () => {
  await initializeBackend({ logger: false });
  baseWeights = pretrainedBase();
});

afterAll(() => {
  for (const population of populations) population.dispose();
  for (const model of models) model.dispose();
});

describe('AdapterPopulation', () => {
  it('runs a generation exactly when the population has trained E more episodes', async () => {
    // 4 episodes a step, E = 12: generations after steps 3, 6 and 9, never in between.
    const population = await makePopulation({ size: 3, everyEpisodes: 12 });
    const generationSteps: number[] = [];
    const trainedMembers: number[] = [];
    for (let step = 1; step <= 10; step++) {
      const result = await population.step();
      trainedMembers.push(result.memberIndex);
      if (result.generation) generationSteps.push(step);
    }
    expect(generationSteps).toEqual([3, 6, 9]);
    expect(population.records.map((record) => record.episode)).toEqual([12, 24, 36]);
    expect(population.episodes).toBe(40);
    // Members train in turn, each its own step of its own trainer.
    expect(trainedMembers).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    for (const record of population.records) {
      expect(record.members).toHaveLength(3);
      expect(record.fitnessEpisodes).toBe(3 * 8);
      for (const member of record.members) {
        expect(member.fitness.lower).toBeLessThanOrEqual(member.fitness.mean);
        expect(member.fitness.upper).toBeGreaterThanOrEqual(member.fitness.mean);
        expect(member.fitness.count).toBe(8);
      }
    }
  });

  it('exploit copies adapters and optimizer state exactly; explore stays inside the ranges', async () => {
    const population = await makePopulation({
      size: 4,
      everyEpisodes: 1000,
      adoptionMargin: 0,
      quantile: 0.5,
    });
    for (let step = 0; step < 8; step++) await population.step();
    const before = population.members.map((member) => ({
      id: member.id,
      weights: copyOf(member.weights),
      optimizer: optimizerState(member),
    }));
    // Members trained with different hyperparameters hold different adapters and moments.
    expect(before[1]!.weights).not.toEqual(before[2]!.weights);
    const record = await population.runGeneration();
    expect(record.exploits.length).toBeGreaterThan(0);
    for (const exploit of record.exploits) {
      const source = before.find((member) => member.id === exploit.sourceId)!;
      const target = population.members[exploit.targetIndex]!;
      expect(exploit.sourceFitness).toBeGreaterThan(exploit.targetFitness);
      expect(copyOf(target.weights)).toEqual(source.weights);
      const copied = optimizerState(target);
      expect(copied.step).toBe(source.optimizer.step);
      for (const [name, moment] of Object.entries(source.optimizer.moments)) {
        expect(copied.moments[name]!.firstMoment).toEqual(moment.firstMoment);
        expect(copied.moments[name]!.secondMoment).toEqual(moment.secondMoment);
      }
      expect(target.hyperparameters).toEqual(exploit.hyperparameters);
      expect(target.lineage.at(-1)).toMatchObject({ origin: 'exploit', fromId: source.id });
      // The new learning rate is the one its optimizer now uses.
      expect((target.trainer.optimizer as Optimizer).currentLearningRate()).toBeCloseTo(
        target.hyperparameters.learningRate!,
        12,
      );
    }
    for (const member of population.members) {
      for (const [name, bounds] of Object.entries(population.space)) {
        expect(member.hyperparameters[name]).toBeGreaterThanOrEqual(bounds.minimum);
        expect(member.hyperparameters[name]).toBeLessThanOrEqual(bounds.maximum);
      }
    }
    // Training goes on from the copied state.
    await population.step();
  });

  it('a fitness tie does not churn the population', async () => {
    // Equal hyperparameters and untrained, equal adapters: every fitness is the same.
    const population = await makePopulation({
      size: 4,
      everyEpisodes: 1000,
      adoptionMargin: 0,
      quantile: 0.5,
      initialHyperparameters: 'config',
    });
    const ids = population.members.map((member) => member.id);
    const record = await population.runGeneration();
    const means = record.members.map((member) => member.fitness.mean);
    expect(new Set(means).size).toBe(1);
    expect(record.exploits).toEqual([]);
    expect(population.members.map((member) => member.id)).toEqual(ids);
  });

  it('ERL injects the learner in place of the worst and adopts only a member better by the margin', async () => {
    const population = await makePopulation({
      mode: 'erl',
      size: 4,
      everyEpisodes: 1000,
      adoptionMargin: 0.01,
      mutationStandardDeviation: 0.15,
      geneProbability: 1,
    });
    expect(population.members.map((member) => member.gradientTrained)).toEqual([
      true,
      false,
      false,
      false,
    ]);
    for (let step = 0; step < 3; step++) expect((await population.step()).memberIndex).toBe(0);
    const before = population.members.map((member) => ({
      id: member.id,
      weights: copyOf(member.weights),
    }));
    const record = await population.runGeneration();
    const fitness = record.members.map((member) => member.fitness.mean);
    const evolved = [1, 2, 3];
    const bestEvolved = evolved.reduce((best, index) =>
      fitness[index]! > fitness[best]! ? index : best,
    );
    expect(record.injected).not.toBeNull();
    const injected = population.members[record.injected!.index]!;
    expect(copyOf(injected.weights)).toEqual(before[0]!.weights);
    expect(record.mutated).toHaveLength(1);
    expect(copyOf(population.members[bestEvolved]!.weights)).toEqual(before[bestEvolved]!.weights);
    // With this seed an evolved mutation beats the learner (pinned, so the adoption path is exercised).
    expect(record.adopted).not.toBeNull();
    if (fitness[bestEvolved]! > fitness[0]! + 0.01) {
      expect(record.adopted?.fromId).toBe(before[bestEvolved]!.id);
      expect(copyOf(population.members[0]!.weights)).toEqual(before[bestEvolved]!.weights);
    } else {
      expect(record.adopted).toBeNull();
      expect(copyOf(population.members[0]!.weights)).toEqual(before[0]!.weights);
    }
  });

  it("fitnessTemperature 'member' samples each member at its own temperature on the same seed, deterministically", async () => {
    // Greedy evaluation in the config: 'member' must sample anyway, at each member's temperature.
    const options = {
      size: 3,
      everyEpisodes: 1000,
      fitnessTemperature: 'member' as const,
      initialHyperparameters: 'sample' as const,
    };
    const population = await makePopulation(options, { config: greedyConfig });
    const temperatures = population.members.map((member) => member.hyperparameters.temperature!);
    expect(temperatures[0]).toBe(1);
    expect(temperatures[1]).not.toBe(1);
    expect(temperatures[2]).not.toBe(1);
    const first = await population.evaluateFitness();
    const again = await population.evaluateFitness();
    expect(again).toEqual(first);
    // Each member's score is exactly its own evaluation at its own temperature, on the config's seed.
    for (const [index, temperature] of temperatures.entries()) {
      const direct = await population.useMember(index).evaluate({
        scenarios: population.fitnessScenarios,
        temperature,
        emit: false,
      });
      expect(first.intervals[index]!.mean).toBe(direct.rewardMean);
    }
    // Greedy scoring of the same (untrained, equal) adapters ties; sampling at different temperatures does not.
    const greedy = await makePopulation(
      { ...options, fitnessTemperature: 'evaluation' },
      { config: greedyConfig },
    );
    const greedyMeans = (await greedy.evaluateFitness()).intervals.map((interval) => interval.mean);
    expect(new Set(greedyMeans).size).toBe(1);
    // (Common random numbers: two temperatures may still draw the same answers from the same uniforms.)
    expect(new Set(first.intervals.map((interval) => interval.mean)).size).toBeGreaterThan(1);
    // A second population built with the same seed scores the same.
    const twin = await makePopulation(options, { config: greedyConfig });
    expect(await twin.evaluateFitness()).toEqual(first);
    await expect(
      makePopulation({ ...options, mode: 'erl' }, { config: greedyConfig }),
    ).rejects.toThrow(/initialHyperparameters: is 'sample' with mode 'erl'/);
    await expect(population.useMember(0).evaluate({ temperature: -1 })).rejects.toThrow(
      /temperature/,
    );
  });

  it('ERL with sampled fitness: a tie with the learner does not churn, a truly better member is adopted', async () => {
    const options = {
      mode: 'erl' as const,
      size: 3,
      everyEpisodes: 1000,
      adoptionMargin: 0.05,
      fitnessTemperature: 'member' as const,
      initialHyperparameters: 'config' as const,
    };
    // Tie: every evolved member holds the learner's adapters, so the paired sampled scores are equal.
    const tied = await makePopulation({ ...options, adoptionMargin: 0 }, { config: greedyConfig });
    for (const member of tied.members.slice(1))
      member.weights = cloneWeights(tied.members[0]!.weights);
    const learnerId = tied.members[0]!.id;
    const tie = await tied.runGeneration();
    expect(new Set(tie.members.map((member) => member.fitness.mean)).size).toBe(1);
    expect(tie.adopted).toBeNull();
    expect(tied.members[0]!.id).toBe(learnerId);

    // Better: member 2 holds adapters trained (a fast learning rate) towards the high arms; the learner the untrained ones.
    const trainedConfig = {
      ...greedyConfig,
      optimizer: { type: 'adam' as const, learningRate: 0.03 },
    } satisfies GrpoTrainingOptionsInput;
    const population = await makePopulation(options, { config: trainedConfig });
    const untrained = cloneWeights(population.members[0]!.weights);
    for (let step = 0; step < 12; step++) await population.step();
    const trained = cloneWeights(population.members[0]!.weights);
    population.members[0]!.weights = untrained;
    population.members[2]!.weights = cloneWeights(trained);
    const betterId = population.members[2]!.id;
    const record = await population.runGeneration();
    const [learnerFitness, , betterFitness] = record.members.map((member) => member.fitness.mean);
    expect(betterFitness!).toBeGreaterThan(learnerFitness! + 0.05);
    expect(record.adopted).toMatchObject({
      fromId: betterId,
      fitness: betterFitness,
      learnerFitness,
    });
    expect(copyOf(population.members[0]!.weights)).toEqual(copyOf(trained));
    expect(population.members[0]!.lineage.at(-1)).toMatchObject({
      origin: 'adopted',
      fromId: betterId,
    });
  });

  it('resumes a population exactly: adapters, optimizer states, hyperparameters, lineage, random streams', async () => {
    const options = { size: 3, everyEpisodes: 8, adoptionMargin: 0, quantile: 0.5 };
    const first = await makePopulation(options);
    for (let step = 0; step < 3; step++) await first.step();
    const saved = JSON.parse(JSON.stringify(first.getState()));
    for (let step = 0; step < 4; step++) await first.step();

    const second = await makePopulation(options);
    second.setState(saved);
    for (let step = 0; step < 4; step++) await second.step();

    expect(second.getState()).toEqual(first.getState());
    expect(second.records.length).toBe(3);
    expect(() => second.setState({ ...saved, members: [] })).toThrow(/members/);
  });

  it('with evolvePrompts, mutation also evolves the system prompts of members, and their trainers use them', async () => {
    const systemPrompt = 'Answer with one digit.';
    await expect(
      makePopulation(
        { mode: 'erl', size: 3, everyEpisodes: 1000, evolvePrompts: true },
        { systemPrompt },
      ),
    ).rejects.toThrow(/promptGenome/);
    const population = await makePopulation(
      {
        mode: 'erl',
        size: 4,
        everyEpisodes: 1000,
        evolvePrompts: true,
        promptCrossoverRate: 1,
      },
      {
        systemPrompt,
        promptGenome: promptGenome({
          phrases: ['Pick the best arm.', 'Think before you answer.', 'Be brief.'],
        }),
      },
    );
    await population.step();
    const record = await population.runGeneration();
    expect(record.mutated).toHaveLength(1);
    const mutated = population.members[record.mutated[0]!]!;
    expect(mutated.systemPrompt).not.toBe(systemPrompt);
    for (const member of population.members) {
      expect(member.trainer.systemPrompt).toBe(member.systemPrompt);
    }
  });
});

/** The arm a trajectory's first answer names (its first digit), or -1. */
function answeredArm(text: string): number {
  const digit = /\[assistant\]\s*(\d)/.exec(text)?.[1];
  return digit === undefined ? -1 : Number(digit);
}

/**
 * A judge model for RULER-style ranking: it reads the trajectories of the
 * prompt and scores each by the arm its answer names (arm / 4; 0 for no arm),
 * the bandit's order of merit; `garbage` answers prose, as a failing judge.
 */
function armJudge(mode: 'arms' | 'garbage', seen: string[][]): ChatModel {
  return {
    name: `arm-judge-${mode}`,
    async complete({ messages }) {
      const user = messages[1]!.content;
      const trajectories = [...user.matchAll(/<trajectory id="(\d+)">([\s\S]*?)<\/trajectory>/g)];
      seen.push(trajectories.map(([, , text]) => text!));
      if (mode === 'garbage') return 'They all look fine to me.';
      return JSON.stringify({
        scores: trajectories.map(([, id, text]) => ({
          trajectory_id: id,
          explanation: 'arm',
          score: Math.max(0, answeredArm(text!)) / 4,
        })),
      });
    },
  };
}

describe('AdapterPopulation with judge fitness (RULER-style relative ranking)', () => {
  const options = {
    size: 3,
    everyEpisodes: 1000,
    fitness: 'judge' as const,
    fitnessTemperature: 'member' as const,
    adoptionMargin: 0,
    quantile: 0.34,
  };

  async function judged(model: ChatModel) {
    const result = await AdapterPopulation.create<ScenarioLike>({
      trainer: sharedParts(baseWeights, models),
      config: { ...trainerConfig, optimizer: { type: 'adam', learningRate: 0.03 } },
      population: { fitnessScenarios: 1, seed: 2, ...options },
      judge: createJudgeRanker({ model, cache: null }),
    });
    populations.push(result);
    return result;
  }

  it("scores each member by the judge's side-by-side scores of the same fitness episodes", async () => {
    const seen: string[][] = [];
    const population = await judged(armJudge('arms', seen));
    for (let step = 0; step < 6; step++) await population.step();
    // Independently: every member's own fitness episodes, scored arm / 4 one by one.
    const expected: number[] = [];
    for (const [index, member] of population.members.entries()) {
      let answers: number[] = [];
      await population.useMember(index).evaluate({
        scenarios: population.fitnessScenarios,
        temperature: member.hyperparameters.temperature!,
        emit: false,
        onTrajectories: (list) => {
          answers = list.map((trajectory) => {
            const reply = trajectory.messages.find((message) => message.role === 'assistant');
            return Math.max(0, answeredArm(`[assistant] ${reply?.content ?? ''}`)) / 4;
          });
        },
      });
      expect(answers).toHaveLength(8);
      expected.push(answers.reduce((sum, value) => sum + value, 0) / answers.length);
    }
    const record = await population.runGeneration();
    // One group per fitness episode (1 scenario x 8 episodes), each holding every member once.
    expect(record.judged).toEqual({ groups: 8, failed: 0 });
    expect(seen).toHaveLength(8);
    for (const group of seen) expect(group).toHaveLength(3);
    record.members.forEach((member, index) => {
      expect(member.fitness.mean).toBeCloseTo(expected[index]!, 12);
      expect(member.fitness.count).toBe(8);
      expect(member.fitness.method).toBe('normal');
    });
    // The members answer differently, so the ranking tells them apart and PBT copies the best into the worst.
    expect(new Set(expected).size).toBeGreaterThan(1);
    expect(record.exploits).toHaveLength(1);
    const best = expected.indexOf(Math.max(...expected));
    expect(record.exploits[0]!.sourceFitness).toBeCloseTo(expected[best]!, 12);
  });

  it('a judge that fails every call leaves every member at the same uninformative interval, and nothing is copied', async () => {
    const population = await judged(armJudge('garbage', []));
    for (let step = 0; step < 3; step++) await population.step();
    const ids = population.members.map((member) => member.id);
    const record = await population.runGeneration();
    expect(record.judged).toEqual({ groups: 8, failed: 8 });
    for (const member of record.members) {
      expect(member.fitness).toMatchObject({ mean: 0, lower: 0, upper: 1, count: 0 });
    }
    expect(record.exploits).toEqual([]);
    expect(population.members.map((member) => member.id)).toEqual(ids);
  });

  it('refuses judge fitness without a judge, and a judge that would rank nothing', async () => {
    const trainer = sharedParts(baseWeights, models);
    await expect(
      AdapterPopulation.create<ScenarioLike>({
        trainer,
        config: trainerConfig,
        population: { everyEpisodes: 8, fitness: 'judge' },
      }),
    ).rejects.toThrow(/judge.*population\.fitness is 'judge'/);
    await expect(
      AdapterPopulation.create<ScenarioLike>({
        trainer,
        config: trainerConfig,
        population: { everyEpisodes: 8, fitness: 'reward' },
        judge: createJudgeRanker({ model: armJudge('arms', []) }),
      }),
    ).rejects.toThrow(/judge.*'reward': it would rank nothing/);
  });
});

describe('AdapterPopulation on the hybrid engine worker pool', () => {
  // Two learners of 2 workers each (start-up is the slow part): the trainer's
  // shard loss, and the same loss with worker 1 throwing on its second request.
  let learner: DataParallelLearner;
  let failing: DataParallelLearner;
  const populationOptions = {
    size: 3,
    everyEpisodes: 8,
    adoptionMargin: 0,
    quantile: 0.5,
  } satisfies PopulationScheduleOptionsInput;

  async function onWorkers(workers: DataParallelLearner) {
    const trainer = sharedParts(baseWeights, models);
    const model = (trainer.policy as LlamaPolicy).model;
    const result = await AdapterPopulation.create<ScenarioLike>({
      trainer: { ...trainer, dataParallel: { learner: workers, model } },
      config: trainerConfig,
      population: { fitness: 'reward', fitnessScenarios: 1, seed: 2, ...populationOptions },
    });
    populations.push(result);
    return result;
  }

  beforeAll(async () => {
    const probe = (sharedParts(baseWeights, models).policy as LlamaPolicy).model;
    const llama = { config: probe.config, lora: probe.lora! };
    [learner, failing] = await Promise.all([
      createDataParallelLearner({ llama, lossModule: policyShardLossModule(), workerCount: 2 }),
      createDataParallelLearner({
        llama,
        lossModule: new URL('./test-fixtures/failing-policy-shard-loss.ts', import.meta.url).href,
        workerCount: 2,
      }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([learner?.dispose(), failing?.dispose()]);
  });

  it('trains every member on the workers bit-identically for a fixed worker count; a throwing worker loses nothing', async () => {
    // Uninterrupted: 5 steps over 3 members, generations after steps 2 and 4 (4 episodes a step, E = 8).
    const straight = await onWorkers(learner);
    for (let step = 0; step < 5; step++) await straight.step();
    expect(straight.records).toHaveLength(2);
    const twin = await onWorkers(learner);
    for (let step = 0; step < 5; step++) await twin.step();
    expect(twin.getState()).toEqual(straight.getState());
    // The members' adapters differ (each trained with its own hyperparameters, on the workers).
    expect(copyOf(straight.members[1]!.weights)).not.toEqual(copyOf(straight.members[2]!.weights));

    // Worker 1 throws on its second request, in member 1's first step (the population's second).
    const interrupted = await onWorkers(failing);
    await interrupted.step();
    const before = interrupted.getState();
    const error = await interrupted.step().catch((thrown: unknown) => thrown);
    expect(DataParallelWorkerError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/worker 1 was told to fail/);
    expect(interrupted.getState()).toEqual(before);
    // Retried, the run goes on exactly as the uninterrupted one.
    for (let step = 1; step < 5; step++) await interrupted.step();
    expect(interrupted.getState()).toEqual(straight.getState());
  });

  it('resumes a population that learns on the workers exactly', async () => {
    const straight = await onWorkers(learner);
    for (let step = 0; step < 5; step++) await straight.step();
    const first = await onWorkers(learner);
    for (let step = 0; step < 3; step++) await first.step();
    const saved = JSON.parse(JSON.stringify(first.getState()));
    const resumed = await onWorkers(learner);
    resumed.setState(saved);
    for (let step = 3; step < 5; step++) await resumed.step();
    expect(resumed.getState()).toEqual(straight.getState());
  });
});
