import type { RewardContext, RewardFunction } from '@cohort/core';
import { regexReward } from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import {
  type CandidateQuery,
  candidateRewardFromFunction,
  candidateRewardFromRewards,
} from './candidate-reward';
import type { RewardFailure } from './reward-scoring-stage';

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

describe('candidateRewardFromRewards', () => {
  const scenario = { id: 'refund-1', goal: 'refund' };
  const input = {
    prompt: 'Be brief.',
    query: 'Refund?',
    scenario,
    response: 'Your refund is on its way.',
    candidates: ['No.', 'Your refund is on its way.'],
    chosenIndex: 1,
  };

  it('sums weight * score over turn- and episode-scoped functions, with the query’s scenario', async () => {
    const seen: RewardContext<unknown>[] = [];
    const words: RewardFunction<{ id: string }> = {
      name: 'words',
      scope: 'turn',
      score(context) {
        seen.push(context);
        return context.completionTokenCount;
      },
    };
    const refund: RewardFunction<{ id: string }> = {
      name: 'refund',
      score: (context) => (/refund/.test(context.completion) ? 1 : 0),
    };
    const reward = candidateRewardFromRewards({
      rewards: [
        { reward: words, weight: 0.5 },
        { reward: refund, weight: -2 },
      ],
    });
    // 0.5 * 6 words + (-2) * 1, by hand.
    expect(await reward(input)).toBeCloseTo(1, 12);
    expect(seen[0]).toMatchObject({
      scenario,
      completion: input.response,
      turnIndex: 0,
      done: true,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Refund?' },
        { role: 'assistant', content: input.response },
      ],
    });
  });

  it('leaves a failing function out and reports it; null when no function scored', async () => {
    const failures: RewardFailure[] = [];
    const broken: RewardFunction<{ id: string }> = {
      name: 'broken',
      score: () => {
        throw new Error('no model');
      },
    };
    const notFinite: RewardFunction<{ id: string }> = { name: 'nan', score: () => Number.NaN };
    const inapplicable: RewardFunction<{ id: string }> = { name: 'none', score: () => null };
    const three: RewardFunction<{ id: string }> = { name: 'three', score: () => 3 };
    const reward = candidateRewardFromRewards({
      rewards: [
        { reward: broken, weight: 1 },
        { reward: notFinite, weight: 1 },
        { reward: three, weight: 2 },
      ],
      onFailure: (failure) => failures.push(failure),
    });
    expect(await reward(input)).toBe(6);
    expect(failures.map((failure) => failure.rewardName)).toEqual(['broken', 'nan']);
    expect(failures[0]!.message).toBe('no model');
    const nothing = candidateRewardFromRewards({
      rewards: [
        { reward: broken, weight: 1 },
        { reward: inapplicable, weight: 1 },
      ],
    });
    expect(await nothing(input)).toBeNull();
    expect(() => candidateRewardFromRewards({ rewards: [] })).toThrow(/rewards.*at least one/);
  });
});
