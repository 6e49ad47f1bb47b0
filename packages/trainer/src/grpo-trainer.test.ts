import { MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment } from '@cohort/environments';
import {
  createGptModel,
  createOptimizer,
  createValueHead,
  initializeBackend,
  UnigramPolicy,
  UnigramReference,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GrpoTrainer } from './grpo-trainer';
import { GptValueFunction } from './value-function';

const tokenizer = new MockTokenizer();
const digitIds = [...'01234'].map((digit) => tokenizer.encode(digit)[0]!);
const armMeans = [0.1, 0.3, 0.5, 0.7, 0.9];

/** A policy that already answers with an arm number, uniformly: what a pretrained LM would do. */
function banditPolicy(): UnigramPolicy {
  const initialLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    digitIds.includes(id) ? 2 : id === tokenizer.endOfTurnTokenId ? 1 : -4,
  );
  return new UnigramPolicy({ tokenizer, initialLogits });
}

function expectedArmReward(policy: UnigramPolicy, means: readonly number[] = armMeans): number {
  const probabilities = policy.probabilities();
  const digitMass = digitIds.reduce((sum, id) => sum + probabilities[id]!, 0);
  // One token per answer: a digit names its arm, anything else is invalid and earns 0.
  return (
    digitIds.reduce((sum, id, arm) => sum + (probabilities[id]! / digitMass) * means[arm]!, 0) *
    digitMass
  );
}

function makeTrainer(seed: number, drift?: { every: number; kind: 'swap' }, klCoefficient = 0) {
  const policy = banditPolicy();
  const environment = createBanditEnvironment({
    bandit: { armMeans, noise: 'gaussian', noiseStd: 0.1, seed, ...(drift ? { drift } : {}) },
  });
  const optimizer = createOptimizer({
    type: 'adam',
    learningRate: 0.1,
    maxGradNorm: 10,
    variables: policy.namedVariables(),
  });
  const trainer = new GrpoTrainer({
    policy,
    optimizer,
    referenceModel: new UnigramReference(policy),
    environment,
    trainScenarios: [{ id: 'bandit' }],
    rewards: [],
    config: {
      seed,
      scenariosPerStep: 2,
      groupSize: 8,
      generation: { maxNewTokens: 1, temperature: 1 },
      maxSequenceLength: 512,
      minibatchSize: 16,
      kl: { controller: { type: 'fixed', coefficient: klCoefficient }, estimator: 'k3' },
    },
  });
  return { policy, trainer, environment };
}

describe('GrpoTrainer on a bandit', () => {
  beforeAll(async () => {
    await initializeBackend({ logger: () => {} });
  });

  it('reaches at least 90% of the best arm mean', async () => {
    const { policy, trainer } = makeTrainer(3);
    const before = expectedArmReward(policy);
    const rewards: number[] = [];
    for (let step = 0; step < 40; step++) rewards.push((await trainer.step()).rewardMean);
    const after = expectedArmReward(policy);
    // Uniform over five arms gives about 0.5; chance never moves the expectation to 0.81.
    expect(before).toBeLessThan(0.55);
    expect(after).toBeGreaterThanOrEqual(0.9 * 0.9);
    expect(rewards.slice(-5).reduce((sum, value) => sum + value, 0) / 5).toBeGreaterThan(0.75);
    expect(policy.version).toBe(40);
  });

  it('tracks a drifting bandit after its best arm moves', async () => {
    // 16 episodes a step; every valid answer is a pull, and the best arm swaps every 800 pulls.
    // The KL to the initial (uniform over arms) policy keeps the exploration that tracking needs:
    // without it GRPO collapses onto one arm and never samples the new best one.
    const { policy, trainer, environment } = makeTrainer(5, { every: 800, kind: 'swap' }, 0.1);
    for (let step = 0; step < 40; step++) await trainer.step();
    expect(policy.probabilities()[digitIds[4]!]).toBeGreaterThan(0.6);
    for (let step = 0; step < 20 && environment.bandit.driftCount === 0; step++)
      await trainer.step();
    expect(environment.bandit.driftCount).toBe(1);
    const newMeans = environment.bandit.armMeans();
    const newBest = newMeans.indexOf(0.9);
    expect(newBest).not.toBe(4);
    const atDrift = expectedArmReward(policy, newMeans);
    const newBestAtDrift = policy.probabilities()[digitIds[newBest]!]!;
    for (let step = 0; step < 48; step++) await trainer.step();
    expect(environment.bandit.driftCount).toBe(1);
    // The policy moved mass to the new best arm, and its expected reward recovered.
    expect(policy.probabilities()[digitIds[newBest]!]).toBeGreaterThan(5 * newBestAtDrift);
    expect(expectedArmReward(policy, newMeans)).toBeGreaterThan(atDrift + 0.1);
    expect(expectedArmReward(policy, newMeans)).toBeGreaterThan(0.65);
  });

  it('trains in PPO mode with a learned critic and turn-level GAE', async () => {
    const policy = banditPolicy();
    const environment = createBanditEnvironment({
      bandit: { armMeans, noise: 'gaussian', noiseStd: 0.1, seed: 8 },
    });
    const config = {
      vocabSize: tokenizer.vocabSize,
      contextLength: 128,
      embeddingSize: 16,
      layerCount: 1,
      headCount: 2,
    };
    const critic = new GptValueFunction({
      model: createGptModel({ config, seed: 3 }),
      head: createValueHead({ inputSize: 16 }),
    });
    const trainer = new GrpoTrainer({
      policy,
      optimizer: createOptimizer({
        type: 'adam',
        learningRate: 0.1,
        maxGradNorm: 10,
        variables: policy.namedVariables(),
      }),
      valueFunction: critic,
      valueOptimizer: createOptimizer({
        type: 'adam',
        learningRate: 0.01,
        variables: critic.namedVariables(),
      }),
      environment,
      trainScenarios: [{ id: 'bandit' }],
      rewards: [],
      config: {
        seed: 8,
        scenariosPerStep: 2,
        groupSize: 8,
        generation: { maxNewTokens: 1 },
        objective: { preset: 'ppo' },
        value: { enabled: true, gamma: 1, lambda: 1, clipRange: 0.5 },
      },
    });
    const metrics = [];
    for (let step = 0; step < 40; step++) metrics.push(await trainer.step());
    const firstValueLoss = metrics.slice(0, 5).reduce((sum, entry) => sum + entry.valueLoss, 0) / 5;
    const lastValueLoss = metrics.slice(-5).reduce((sum, entry) => sum + entry.valueLoss, 0) / 5;
    // The critic starts at V = 0 against returns near 0.5: its loss must fall several times over.
    expect(lastValueLoss).toBeLessThan(firstValueLoss / 3);
    expect(expectedArmReward(policy)).toBeGreaterThan(0.8);
  });

  it('keeps the tensor count flat across steps', async () => {
    const { trainer } = makeTrainer(4);
    await trainer.step();
    const count = tf.memory().numTensors;
    for (let step = 0; step < 5; step++) await trainer.step();
    expect(tf.memory().numTensors).toBe(count);
  });
});
