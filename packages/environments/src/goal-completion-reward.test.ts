import { type RewardContext, type Scenario, ScenarioSchema } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { goalCompletionReward } from './goal-completion-reward';

const scenario: Scenario = ScenarioSchema.parse({
  id: 'goal',
  category: 'refunds',
  persona: 'p',
  goal: 'g',
  successCriteria: [
    { id: 'order', description: 'o', anyOf: ['A1042'] },
    { id: 'refund', description: 'r', anyOf: ['refund'], weight: 2 },
    { id: 'days', description: 'd', anyOf: ['5 business days'] },
  ],
  maxTurns: 4,
  user: { opening: 'Hi' },
});

function context(messages: RewardContext['messages'], completion: string): RewardContext<Scenario> {
  return { scenario, messages, completion, turnIndex: 1, done: true, completionTokenCount: 4 };
}

describe('goalCompletionReward', () => {
  const reward = goalCompletionReward();

  it('is the weighted fraction of criteria met over all agent messages', () => {
    const messages = [
      { role: 'user' as const, content: 'Hi' },
      { role: 'assistant' as const, content: 'Order A1042.' },
      { role: 'user' as const, content: 'And?' },
      { role: 'assistant' as const, content: 'A refund.' },
    ];
    // order (1) + refund (2) of 4
    expect(reward.score(context(messages, 'A refund.'))).toBeCloseTo(0.75, 12);
  });

  it('counts the completion when the messages do not hold it yet', () => {
    expect(
      reward.score(context([{ role: 'user', content: 'Hi' }], 'Within 5 business days.')),
    ).toBeCloseTo(0.25, 12);
    expect(reward.score(context([], ''))).toBe(0);
  });

  it('returns null for a context without a scenario', () => {
    expect(reward.score({ ...context([], 'x'), scenario: null as unknown as Scenario })).toBeNull();
    expect(goalCompletionReward({ name: 'goal' }).name).toBe('goal');
  });
});
