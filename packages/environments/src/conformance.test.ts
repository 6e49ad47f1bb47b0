import type { RewardContext, Scenario } from '@cohort/core';
import { checkEnvironmentConformance, checkRewardFunctionConformance } from '@cohort/core/test';
import { describe, it } from 'vitest';
import { createBanditEnvironment } from './bandit-environment';
import { createConversationEnvironment } from './conversation-environment';
import { formatReward } from './format-reward';
import { goalCompletionReward } from './goal-completion-reward';
import { keywordReward } from './keyword-reward';
import { lengthReward } from './length-reward';
import { supportScenarios } from './support-scenarios';

const [scenario] = supportScenarios({ split: 'train' }) as [Scenario, ...Scenario[]];
const agentMessages = [
  'I am sorry about that. Could you share your order number?',
  'Thanks! I have issued a refund; it takes 5 business days.',
  'Is there anything else I can help with?',
];

describe('Environment conformance', () => {
  it('ConversationEnvironment conforms', async () => {
    await checkEnvironmentConformance({
      environment: createConversationEnvironment({ systemPrompt: 'Be kind.' }),
      scenario,
      agentMessages,
      maxTurns: scenario.maxTurns + 1,
      mustEnd: true,
    });
  });

  it('the bandit environment conforms', async () => {
    await checkEnvironmentConformance({
      environment: createBanditEnvironment({
        bandit: { armMeans: [0.1, 0.5, 0.9], noise: 'gaussian', noiseStd: 0.2, seed: 4 },
      }),
      scenario: { id: 'bandit' },
      agentMessages: ['2', 'arm 0', 'none'],
      maxTurns: 3,
      mustEnd: true,
    });
  });
});

describe('RewardFunction conformance', () => {
  const contexts: RewardContext<Scenario>[] = agentMessages.map((completion, turnIndex) => ({
    scenario,
    messages: [
      { role: 'user', content: scenario.user.opening },
      { role: 'assistant', content: completion },
    ],
    completion,
    turnIndex,
    done: turnIndex === agentMessages.length - 1,
    ...(turnIndex === agentMessages.length - 1 ? { endReason: 'success' as const } : {}),
    completionTokenCount: completion.length,
    finishReason: 'eos',
  }));
  it.each([
    ['goalCompletionReward', goalCompletionReward()],
    ['formatReward', formatReward()],
    ['keywordReward', keywordReward({ required: ['refund', 'order'], forbidden: ['cannot'] })],
    ['lengthReward', lengthReward({ maxTokens: 40, bufferTokens: 10 })],
  ])('%s conforms', async (_, reward) => {
    await checkRewardFunctionConformance({ reward, contexts });
  });
});
