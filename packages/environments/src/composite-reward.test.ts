import {
  type RewardContext,
  type RewardFunction,
  ScenarioSchema,
  ValidationError,
} from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { compositeReward } from './composite-reward';
import { goalCompletionReward } from './goal-completion-reward';
import { keywordReward } from './keyword-reward';
import { lengthReward } from './length-reward';

const context: RewardContext = {
  scenario: null,
  messages: [],
  completion: 'Your refund is on its way.',
  turnIndex: 0,
  done: true,
  completionTokenCount: 7,
};

const fixed = (name: string, value: number | null): RewardFunction => ({
  name,
  score: () => value,
});
const throwing: RewardFunction = {
  name: 'broken',
  score: () => {
    throw new Error('model not loaded');
  },
};
const notFinite: RewardFunction = { name: 'nan', score: async () => Number.NaN };

describe('compositeReward', () => {
  it('is the weighted sum of its components, reporting each', async () => {
    const reward = compositeReward({
      components: [
        { reward: fixed('a', 0.5), weight: 2 },
        { reward: fixed('b', -1), weight: 0.5 },
        { reward: { name: 'c', score: async () => 3 }, weight: -1 },
      ],
    });
    // 2 * 0.5 + 0.5 * -1 + -1 * 3 = -2.5
    const result = await reward.scoreDetailed(context);
    expect(result).toEqual({ total: -2.5, components: { a: 0.5, b: -1, c: 3 }, errors: {} });
    expect(await reward.score(context)).toBe(-2.5);
    expect(reward.componentNames).toEqual(['a', 'b', 'c']);
  });

  it('skips or zeroes nulls, failures and non-finite scores, naming each failure', async () => {
    const components = [
      { reward: fixed('a', 1), weight: 2 },
      { reward: fixed('b', null), weight: 1 },
      { reward: throwing, weight: 1 },
      { reward: notFinite, weight: 1 },
    ];
    const skip = await compositeReward({ components, nullHandling: 'skip' }).scoreDetailed(context);
    expect(skip.total).toBe(2);
    expect(skip.components).toEqual({ a: 1, b: null, broken: null, nan: null });
    expect(skip.errors.broken).toBe('Error: model not loaded');
    expect(skip.errors.nan).toMatch(/NonFiniteError: nan score is NaN/);
    expect(Object.keys(skip.errors)).toEqual(['broken', 'nan']);
    const zero = await compositeReward({ components, nullHandling: 'zero' }).scoreDetailed(context);
    expect(zero.total).toBe(2);
    // normalized: skip divides by |2| = 2; zero by 2 + 1 + 1 + 1 = 5
    expect(
      await compositeReward({ components, nullHandling: 'skip', normalize: true }).score(context),
    ).toBe(1);
    expect(
      await compositeReward({ components, nullHandling: 'zero', normalize: true }).score(context),
    ).toBeCloseTo(0.4, 12);
  });

  it('is null when nothing counted with skip, and 0 with zero', async () => {
    const components = [{ reward: fixed('a', null) }, { reward: throwing }];
    expect(await compositeReward({ components }).score(context)).toBeNull();
    expect(await compositeReward({ components, nullHandling: 'zero' }).score(context)).toBe(0);
  });

  it('composes the built-in rewards on a real conversation', async () => {
    const scenario = ScenarioSchema.parse({
      id: 's',
      category: 'refunds',
      persona: 'p',
      goal: 'g',
      successCriteria: [
        { id: 'refund', description: 'r', anyOf: ['refund'] },
        { id: 'order', description: 'o', anyOf: ['A1042'] },
      ],
      maxTurns: 3,
      user: { opening: 'Hi' },
    });
    const reward = compositeReward({
      components: [
        { reward: goalCompletionReward(), weight: 1 },
        { reward: keywordReward({ required: ['refund'], forbidden: ['cannot'] }), weight: 0.5 },
        { reward: lengthReward({ maxTokens: 8, bufferTokens: 4 }), weight: 1 },
      ],
    });
    // goal 0.5, keywords 1, length (4 - 7) / 4 = -0.75: 0.5 + 0.5 - 0.75 = 0.25
    const result = await reward.scoreDetailed({ ...context, scenario });
    expect(result.components).toEqual({ 'goal-completion': 0.5, keywords: 1, length: -0.75 });
    expect(result.total).toBeCloseTo(0.25, 12);
  });

  it('rejects duplicate names and non-rewards, naming the field', () => {
    expect(() =>
      compositeReward({ components: [{ reward: fixed('a', 1) }, { reward: fixed('a', 2) }] }),
    ).toThrow(/components\.1\.reward\.name/);
    expect(() => compositeReward({ components: [] })).toThrow(ValidationError);
    expect(() =>
      compositeReward({ components: [{ reward: { name: 'x' } as unknown as RewardFunction }] }),
    ).toThrow(/components\.0\.reward/);
    expect(() =>
      compositeReward({ components: [{ reward: fixed('a', 1), weight: Number.NaN }] }),
    ).toThrow(/components\.0\.weight/);
  });
});
