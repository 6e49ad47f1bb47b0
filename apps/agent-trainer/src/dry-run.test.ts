import { supportScenarios } from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import { resolveAppConfig } from './app-config';
import { batchArithmetic, configDifferences } from './dry-run';

describe('dry run', () => {
  it("lists only what differs from the preset's default run", () => {
    expect(configDifferences(resolveAppConfig({}))).toEqual([]);
    expect(
      configDifferences(
        resolveAppConfig({ preset: 'conservative', trainer: { steps: 7, groupSize: 6 } }),
      ),
    ).toEqual(['trainer.groupSize: 6 (default 4)', 'trainer.steps: 7 (default 100)']);
  });

  it('does the batch arithmetic by hand', () => {
    const config = resolveAppConfig({
      trainer: {
        scenariosPerStep: 3,
        groupSize: 5,
        minibatchSize: 4,
        epochs: 2,
        gradientAccumulationSteps: 3,
        steps: 10,
        evaluation: { maxScenarios: 6, episodesPerScenario: 2, everySteps: 5 },
      },
    });
    // 15 episodes; ceil(15 / 4) = 4 minibatches x 2 epochs = 8, / 3 accumulated -> ceil = 3 updates.
    expect(batchArithmetic(config, supportScenarios({ split: 'eval' }))).toEqual([
      'per step: 3 scenarios x 5 episodes (group size) = 15 episodes',
      'tokens per step: at most 15 x 256 (maxSequenceLength) = 3840 in context, of which the policy samples at most 40 per agent turn',
      'updates per step: 4 minibatches of up to 4 x 2 epochs / 3 accumulated = 3 optimizer steps',
      'run: 10 steps = 150 training episodes',
      'evaluation: 6 of 24 held-out scenarios (refunds 2, shipping 2, technical 1, account 1) x 2 episodes, every 5 steps and before and after training',
    ]);
  });

  it('adds a population: generations and its fitness episodes beside the training episodes', () => {
    const config = resolveAppConfig({
      trainer: {
        scenariosPerStep: 3,
        groupSize: 5,
        steps: 10,
        evaluation: { episodesPerScenario: 2 },
      },
      population: {
        schedule: ['pbt', 'prompts'],
        members: 4,
        everyEpisodes: 40,
        fitnessScenarios: 3,
      },
    });
    // 150 training episodes / 40 = 3 generations; 3 scenarios x 2 episodes = 6 per member.
    expect(batchArithmetic(config, []).at(-1)).toBe(
      'population: 4 members (pbt + prompts) share the 10 steps; a generation every 40 training episodes = 3 generations, each at most 4 x 6 fitness episodes (72 in all, beside the training episodes)',
    );
  });
});
