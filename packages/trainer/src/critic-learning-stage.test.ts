import { Random } from '@cohort/core';
import { MockTokenizer } from '@cohort/core/test';
import { createGptModel, createOptimizer, createValueHead, initializeBackend } from '@cohort/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { learnCritic } from './critic-learning-stage';
import { fixturePolicy, fixtureTrajectory } from './stage-test-fixtures';
import { turnTargets } from './turn-advantages';
import { GptValueFunction } from './value-function';

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

describe('learnCritic', () => {
  it('leaves a minibatch with a non-finite value loss out of the updates and out of the loss mean', () => {
    const tokenizer = new MockTokenizer();
    const critic = new GptValueFunction({
      model: createGptModel({
        config: {
          vocabSize: tokenizer.vocabSize,
          contextLength: 32,
          embeddingSize: 8,
          layerCount: 1,
          headCount: 2,
        },
        seed: 4,
      }),
      head: createValueHead({ inputSize: 8 }),
    });
    const random = new Random(2);
    const logits = Array.from(fixturePolicy().logits.dataSync());
    const trajectories = [0, 1].map((index) =>
      fixtureTrajectory({
        id: `t${index}`,
        random,
        behaviorLogits: logits,
        length: 7,
        sampled: 3,
        reward: 1,
      }),
    );
    const targets = trajectories.map((trajectory) => turnTargets(trajectory));
    const statePosition = targets[0]!.statePositions[0]!;
    const valueBefore = (
      critic.values({ sequences: [trajectories[0]!.tokenIds] }).arraySync() as number[][]
    )[0]![statePosition]!;
    const warnings: string[] = [];
    const result = learnCritic({
      valueFunction: critic,
      optimizer: createOptimizer({
        type: 'adam',
        learningRate: 0.01,
        variables: critic.namedVariables(),
      }),
      trajectories,
      criticTargets: { targets, oldValues: [[0], [0]], returnsPerTurn: [[0.8], [Number.NaN]] },
      epochs: 1,
      minibatchSize: 1,
      random: new Random(1),
      warn: (message) => warnings.push(message),
    });
    expect(result.skippedUpdates).toBe(1);
    expect(result.appliedUpdates).toBe(1);
    expect(warnings).toEqual(['non-finite value loss NaN: skipped']);
    // Unclipped PPO value loss at the one state: 0.5 (V - R)^2, whichever minibatch came first
    // (the skipped one changes no weight).
    expect(result.loss).toBeCloseTo(0.5 * (valueBefore - 0.8) ** 2, 6);
    expect(result.loss).toBeGreaterThan(0);
  });
});
