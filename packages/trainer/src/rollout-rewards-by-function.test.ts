import type { Environment, Message, Scenario } from '@cohort/core';
import { MockPolicy, MockTokenizer } from '@cohort/core/test';
import { describe, expect, it } from 'vitest';
import { rolloutGroups } from './rollout';

describe('rolloutGroups rewards by function', () => {
  it('reports turn-scoped reward functions by name (their sum over turns), next to episode-scoped ones', async () => {
    const tokenizer = new MockTokenizer();
    const letter = tokenizer.encode('a')[0]!;
    const policy = new MockPolicy({
      tokenizer,
      logits: Array.from({ length: tokenizer.vocabSize }, (_, id) =>
        id === letter ? 0 : id === tokenizer.endOfTurnTokenId ? 0 : -60,
      ),
    });
    // Three agent turns, then done.
    const environment: Environment<Scenario> = {
      name: 'three-turns',
      async reset() {
        const messages: Message[] = [{ role: 'user', content: 'hi' }];
        let turns = 0;
        return {
          messages,
          async step(text) {
            turns++;
            messages.push({ role: 'assistant', content: text });
            if (turns === 3) return { reward: 0, done: true, endReason: 'turn-limit' };
            messages.push({ role: 'user', content: 'more' });
            return { reward: 0, done: false, userMessage: 'more' };
          },
        };
      },
    };
    let turnCalls = 0;
    const result = await rolloutGroups({
      policy,
      environment,
      scenarios: [{ id: 's' } as unknown as Scenario],
      groupSize: 2,
      seed: 4,
      generation: { maxNewTokens: 3, temperature: 1, stopTokenIds: [tokenizer.endOfTurnTokenId] },
      rewards: [
        {
          // 0.25 per turn, except that the second call of each episode fails.
          reward: {
            name: 'per-turn',
            scope: 'turn',
            score: ({ turnIndex }) => {
              turnCalls++;
              if (turnIndex === 1) throw new Error('flaky');
              return 0.25;
            },
          },
          weight: 2,
        },
        { reward: { name: 'at-end', score: () => 0.5 }, weight: 1 },
      ],
      maxSequenceLength: 256,
      label: 't',
    });
    expect(turnCalls).toBe(6);
    for (const trajectory of result.groups[0]!.trajectories) {
      expect(trajectory.rewardsByFunction).toEqual({ 'per-turn': 0.5, 'at-end': 0.5 });
      // The return: 2 x (0.25 + 0.25) from the turns, 0.5 at the end.
      expect(trajectory.totalReward).toBeCloseTo(1.5, 12);
    }
    expect(result.rewardFailures).toHaveLength(2);
  });
});
