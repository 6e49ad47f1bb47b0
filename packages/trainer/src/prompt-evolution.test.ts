import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Environment, Message } from '@cohort/core';
import { MockTokenizer } from '@cohort/core/test';
import { createOptimizer, initializeBackend, UnigramPolicy } from '@cohort/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpoTrainer } from './grpo-trainer';
import { parseMetricsLog } from './metrics-log';
import { createPromptEvolution } from './prompt-evolution';
import { TrainingRun } from './training-run';

const tokenizer = new MockTokenizer();
let root: string;
beforeAll(async () => {
  await initializeBackend({ logger: false });
  root = await mkdtemp(path.join(tmpdir(), 'cohort-evolution-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** One turn; the reward counts the helpful instructions in the system prompt (so the prompt matters). */
const environment: Environment<{ id: string }> = {
  name: 'prompt-sensitive',
  async reset({ systemPrompt = '' }) {
    const messages: Message[] = [
      { role: 'system', content: systemPrompt },
      { role: 'user', content: 'hi' },
    ];
    return {
      messages,
      async step(agentMessage) {
        messages.push({ role: 'assistant', content: agentMessage });
        const helpful = ['Name the order.', 'Give a date.', 'Offer a refund.'];
        const reward = helpful.filter((sentence) => systemPrompt.includes(sentence)).length / 3;
        return { reward, done: true, endReason: 'success' };
      },
    };
  },
};

describe('prompt evolution in a training run', () => {
  it('runs a generation exactly every E episodes, injects the trained prompt and adopts a better one', async () => {
    const policy = new UnigramPolicy({ tokenizer });
    const trainer = new GrpoTrainer({
      policy,
      optimizer: createOptimizer({ learningRate: 0.01, variables: policy.namedVariables() }),
      environment,
      trainScenarios: [{ id: 'a' }, { id: 'b' }],
      rewards: [],
      systemPrompt: 'Be kind.',
      config: {
        seed: 2,
        scenariosPerStep: 2,
        groupSize: 4,
        generation: { maxNewTokens: 1 },
        evolution: {
          everyEpisodes: 16,
          populationSize: 6,
          eliteCount: 1,
          adoptionMargin: 0.1,
          fitnessScenarios: 2,
        },
      },
    });
    const evolution = await createPromptEvolution({
      trainer,
      phrases: [
        'Name the order.',
        'Give a date.',
        'Offer a refund.',
        'Use capitals.',
        'Say hello.',
      ],
    });
    expect(evolution).not.toBeNull();
    const runDirectory = path.join(root, 'run');
    const run = new TrainingRun({ trainer, runDirectory, steps: 12, evolution: evolution! });
    const summary = await run.run();

    // 8 episodes a step, E = 16: a generation after steps 2, 4, ..., 12.
    const records = parseMetricsLog(
      await readFile(path.join(runDirectory, 'metrics.jsonl'), 'utf8'),
    );
    const generations = records.filter((record) => record.kind === 'generation');
    expect(generations.map((record) => record.step)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(generations.map((record) => record.episode)).toEqual([16, 32, 48, 64, 80, 96]);
    // The trained prompt scores 0 and was injected each time; a better prompt was adopted.
    expect(generations[0]!.trainedFitness).toBe(0);
    expect(summary.generations.some((generation) => generation.adopted !== null)).toBe(true);
    expect(trainer.systemPrompt).not.toBe('Be kind.');
    const finalFitness = ['Name the order.', 'Give a date.', 'Offer a refund.'].filter((sentence) =>
      trainer.systemPrompt!.includes(sentence),
    ).length;
    expect(finalFitness).toBeGreaterThanOrEqual(2);
    expect(generations.at(-1)!.bestFitness).toBeGreaterThan(generations[0]!.bestFitness as number);
  });

  it('is off when everyEpisodes is 0', async () => {
    const policy = new UnigramPolicy({ tokenizer });
    const trainer = new GrpoTrainer({
      policy,
      optimizer: createOptimizer({ learningRate: 0.01, variables: policy.namedVariables() }),
      environment,
      trainScenarios: [{ id: 'a' }],
      rewards: [],
      systemPrompt: 'Be kind.',
      config: { generation: { maxNewTokens: 1 } },
    });
    expect(await createPromptEvolution({ trainer, phrases: ['Say hello.'] })).toBeNull();
  });
});
