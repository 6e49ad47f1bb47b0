import { fileURLToPath } from 'node:url';
import {
  createConversationEnvironment,
  defaultSupportSystemPrompt,
  goalCompletionReward,
  supportScenarios,
} from '@cohort/environments';
import { createOptimizer, initializeBackend } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import { GrpoTrainer } from '@cohort/trainer';
import { beforeAll, describe, expect, it } from 'vitest';

const modelDirectory = fileURLToPath(
  new URL('../apps/agent-trainer/models/support-agent-tiny', import.meta.url),
);

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

describe('GRPO with a token-level tfjs LM on a built-in conversation task', () => {
  it('raises the held-out goal completion of the embedded support model', async () => {
    const { policy, referenceModel } = await loadGptPolicy(modelDirectory);
    const trainer = new GrpoTrainer({
      policy,
      optimizer: createOptimizer({
        learningRate: 1e-4,
        maxGradNorm: 1,
        variables: policy.namedVariables(),
      }),
      referenceModel,
      environment: createConversationEnvironment({ includeContext: true }),
      trainScenarios: supportScenarios({ split: 'train', categories: ['refunds', 'shipping'] }),
      evalScenarios: supportScenarios({ split: 'eval', categories: ['refunds', 'shipping'] }),
      rewards: [{ reward: goalCompletionReward(), weight: 1 }],
      systemPrompt: defaultSupportSystemPrompt,
      config: {
        seed: 1,
        scenariosPerStep: 2,
        groupSize: 4,
        minibatchSize: 8,
        generation: { maxNewTokens: 40 },
        maxSequenceLength: policy.model.config.contextLength,
        kl: { controller: { type: 'fixed', coefficient: 0.01 } },
        evaluation: { episodesPerScenario: 1, temperature: 0 },
      },
    });
    // Greedy and seeded, so each evaluation is one deterministic number over 12 held-out scenarios.
    const before = await trainer.evaluate();
    const trainRewards: number[] = [];
    for (let step = 0; step < 20; step++) trainRewards.push((await trainer.step()).rewardMean);
    const after = await trainer.evaluate();
    expect(after.rewardMean).toBeGreaterThan(before.rewardMean + 0.1);
    const early = trainRewards.slice(0, 5).reduce((sum, value) => sum + value, 0) / 5;
    const late = trainRewards.slice(-5).reduce((sum, value) => sum + value, 0) / 5;
    expect(late).toBeGreaterThan(early);
  });
});
