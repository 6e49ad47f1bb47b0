import type { Environment, Message } from '@cohort/core';
import { MockTokenizer } from '@cohort/core/test';
import { createOptimizer, initializeBackend, UnigramPolicy } from '@cohort/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GrpoTrainer } from './grpo-trainer';
import {
  evaluateStratified,
  evaluationGain,
  stratifiedBootstrapInterval,
  stratifiedScenarios,
} from './stratified-evaluation';

interface Task {
  id: string;
  category: string;
}

const tasks: Task[] = [
  ...['r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map((id) => ({ id, category: 'refunds' })),
  ...['s1', 's2', 's3', 's4'].map((id) => ({ id, category: 'shipping' })),
  ...['t1', 't2'].map((id) => ({ id, category: 'technical' })),
];

describe('stratifiedScenarios', () => {
  it('takes categories round-robin in order of first appearance, deterministically', () => {
    expect(stratifiedScenarios(tasks, 7).map((task) => task.id)).toEqual([
      'r1',
      's1',
      't1',
      'r2',
      's2',
      't2',
      'r3',
    ]);
    // A category that runs out leaves its turn to the others.
    expect(stratifiedScenarios(tasks, 10).map((task) => task.id)).toEqual([
      'r1',
      's1',
      't1',
      'r2',
      's2',
      't2',
      'r3',
      's3',
      'r4',
      's4',
    ]);
    expect(stratifiedScenarios(tasks, 0)).toEqual(tasks);
    expect(stratifiedScenarios(tasks, 99)).toEqual(tasks);
    expect(() => stratifiedScenarios(tasks, -1)).toThrow(/maximum = -1/);
  });
});

describe('stratifiedBootstrapInterval', () => {
  it('is a point for constant values, and for strata that are constant inside (the category mix is kept)', () => {
    const point = stratifiedBootstrapInterval({
      values: [0.4, 0.4, 0.4],
      strata: ['a', 'a', 'a'],
      seed: 1,
    });
    expect(point[0]).toBeCloseTo(0.4, 12);
    expect(point[1]).toBeCloseTo(0.4, 12);
    // Unstratified, 3 zeros and a one would give means from 0 to 1; stratified it is exactly 1/4.
    expect(
      stratifiedBootstrapInterval({ values: [0, 0, 0, 1], strata: ['a', 'a', 'a', 'b'], seed: 2 }),
    ).toEqual([0.25, 0.25]);
    expect(stratifiedBootstrapInterval({ values: [], strata: [], seed: 1 })).toEqual([0, 0]);
    expect(() => stratifiedBootstrapInterval({ values: [1], strata: [], seed: 1 })).toThrow(
      /strata/,
    );
  });

  it('agrees with the normal-theory interval mean +- 1.96 s / sqrt(n) on a large sample', () => {
    // Values 0..399 shuffled into one stratum: mean 199.5, population sd sqrt((400^2 - 1) / 12).
    const values = Array.from({ length: 400 }, (_, index) => (index * 137) % 400);
    const sd = Math.sqrt((400 ** 2 - 1) / 12);
    const halfWidth = (1.959964 * sd) / Math.sqrt(400);
    const [low, high] = stratifiedBootstrapInterval({
      values,
      strata: values.map(() => 's'),
      seed: 3,
      resamples: 4000,
    });
    expect(low).toBeCloseTo(199.5 - halfWidth, -0.3);
    expect(high).toBeCloseTo(199.5 + halfWidth, -0.3);
    expect(Math.abs((high - low) / (2 * halfWidth) - 1)).toBeLessThan(0.08);
  });
});

describe('evaluationGain', () => {
  const before = [
    { scenarioId: 'a', category: 'x', reward: 0.2, success: 0 },
    { scenarioId: 'b', category: 'x', reward: 0.4, success: 1 },
    { scenarioId: 'c', category: 'y', reward: 0.1, success: 0 },
  ];
  it('is the mean paired difference with its interval, and undefined for different scenarios', () => {
    const after = before.map((entry) => ({ ...entry, reward: entry.reward + 0.3 }));
    const gain = evaluationGain(before, after, 1)!;
    expect(gain.reward).toBeCloseTo(0.3, 12);
    expect(gain.rewardInterval[0]).toBeCloseTo(0.3, 12);
    expect(gain.rewardInterval[1]).toBeCloseTo(0.3, 12);
    expect(gain.successRate).toBe(0);
    const mixed = evaluationGain(before, [after[0]!, { ...after[1]!, reward: 0.4 }, after[2]!], 1)!;
    expect(mixed.reward).toBeCloseTo((0.3 + 0 + 0.3) / 3, 12);
    expect(mixed.rewardInterval[0]).toBeLessThan(mixed.reward);
    expect(evaluationGain(before, [...after].reverse(), 1)).toBeUndefined();
    expect(evaluationGain(before, after.slice(1), 1)).toBeUndefined();
  });
});

describe('evaluateStratified', () => {
  beforeAll(async () => {
    await initializeBackend({ logger: false });
  });

  it('reports every category, on the training reward scale, with each reward function by name', async () => {
    const tokenizer = new MockTokenizer();
    const policy = new UnigramPolicy({
      tokenizer,
      initialLogits: Array.from({ length: tokenizer.vocabSize }, (_, id) =>
        id === tokenizer.encode('k')[0] ? 5 : id === tokenizer.endOfTurnTokenId ? 5 : -20,
      ),
    });
    // One turn; the environment pays 1 for refunds, and success only in shipping.
    const environment: Environment<Task> = {
      name: 'by-category',
      async reset({ scenario }) {
        const messages: Message[] = [{ role: 'user', content: scenario.id }];
        return {
          messages,
          async step(text) {
            messages.push({ role: 'assistant', content: text });
            return {
              reward: scenario.category === 'refunds' ? 1 : 0,
              done: true,
              endReason: scenario.category === 'shipping' ? 'success' : 'turn-limit',
            };
          },
        };
      },
    };
    const trainer = new GrpoTrainer<Task>({
      policy,
      optimizer: createOptimizer({
        type: 'adam',
        learningRate: 0.01,
        variables: policy.namedVariables(),
      }),
      environment,
      trainScenarios: tasks,
      rewards: [],
      config: {
        groupSize: 2,
        generation: { maxNewTokens: 3 },
        evaluation: { maxScenarios: 6, episodesPerScenario: 2, temperature: 1, seed: 9 },
      },
    });
    const technicalBonus = {
      name: 'technical-bonus',
      score: ({ scenario }: { scenario: Task }) => (scenario.category === 'technical' ? 0.5 : 0),
    };
    const metrics = await evaluateStratified(trainer, {
      environment,
      rewards: [{ reward: technicalBonus, weight: 2 }],
      scenarios: tasks,
    });
    expect(metrics.perScenario.map((entry) => entry.scenarioId)).toEqual([
      'r1',
      's1',
      't1',
      'r2',
      's2',
      't2',
    ]);
    expect(metrics.scenarios).toBe(6);
    expect(metrics.episodes).toBe(12);
    // Refunds: 1 from the environment; technical: 2 x 0.5 from the weighted reward; shipping 0.
    expect(metrics.byCategory).toEqual({
      refunds: { scenarios: 2, rewardMean: 1, successRate: 0, rewardInterval: [1, 1] },
      shipping: { scenarios: 2, rewardMean: 0, successRate: 1, rewardInterval: [0, 0] },
      technical: { scenarios: 2, rewardMean: 1, successRate: 0, rewardInterval: [1, 1] },
    });
    expect(metrics.rewardMean).toBeCloseTo(2 / 3, 12);
    expect(metrics.successRate).toBeCloseTo(1 / 3, 12);
    // Constant inside each category: the stratified interval is the point.
    expect(metrics.rewardInterval[0]).toBeCloseTo(2 / 3, 12);
    expect(metrics.rewardInterval[1]).toBeCloseTo(2 / 3, 12);
    expect(metrics.rewardMeanByFunction).toEqual({ 'technical-bonus': 0.5 / 3 });
    expect(metrics.samples.map((sample) => sample.scenarioId)).toEqual(['r1', 's1', 't1']);
  });
});
