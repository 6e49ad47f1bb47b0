import type { RewardContext, RewardFunction } from '@cohort/core';
import { regexReward } from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import { type CandidateQuery, candidateRewardFromFunction } from './candidate-reward';

describe('candidateRewardFromFunction', () => {
  it('scores the choice as a one-turn conversation', async () => {
    const seen: RewardContext<CandidateQuery>[] = [];
    const recording: RewardFunction<CandidateQuery> = {
      name: 'length',
      score(context) {
        seen.push(context);
        return context.completionTokenCount;
      },
    };
    const reward = candidateRewardFromFunction(recording);
    const input = {
      prompt: 'Be brief.',
      query: 'Refund?',
      response: 'Yes,  it is on   its way.',
      candidates: ['No.', 'Yes,  it is on   its way.'],
      chosenIndex: 1,
    };
    expect(await reward(input)).toBe(6);
    expect(seen[0]).toEqual({
      scenario: { prompt: 'Be brief.', query: 'Refund?' },
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Refund?' },
        { role: 'assistant', content: 'Yes,  it is on   its way.' },
      ],
      completion: 'Yes,  it is on   its way.',
      turnIndex: 0,
      done: true,
      completionTokenCount: 6,
    });
    const tokens = candidateRewardFromFunction(recording, { countTokens: (text) => text.length });
    expect(await tokens({ ...input, prompt: '' })).toBe(input.response.length);
    expect(seen[1]!.messages[0]).toEqual({ role: 'user', content: 'Refund?' });
  });

  it('passes a real reward of @cohort/environments through', async () => {
    const reward = candidateRewardFromFunction(regexReward({ pattern: 'refund', flags: 'i' }));
    const base = { prompt: '', query: 'q', candidates: [], chosenIndex: 0 };
    expect(await reward({ ...base, response: 'Your REFUND is ready.' })).toBe(1);
    expect(await reward({ ...base, response: 'Hello.' })).toBe(0);
  });

  it('names a value that is not a RewardFunction', () => {
    expect(() => candidateRewardFromFunction({} as never)).toThrow(/rewardFunction/);
  });
});
