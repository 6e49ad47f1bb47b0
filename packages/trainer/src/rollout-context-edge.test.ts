import type { Environment, Message, Scenario } from '@cohort/core';
import { MockPolicy, MockTokenizer } from '@cohort/core/test';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rolloutGroups } from './rollout';

const tokenizer = new MockTokenizer();
const letter = tokenizer.encode('a')[0]!;

/** A policy that says "aaaa..." and stops with end-of-turn with the given logit (very low: never stops). */
function policyStoppingWith(stopLogit: number): MockPolicy {
  const logits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    id === letter ? 0 : id === tokenizer.endOfTurnTokenId ? stopLogit : -60,
  );
  return new MockPolicy({ logits, tokenizer });
}

/** The user opens with `openingLength` characters and answers with `replyLength` characters, forever. */
function talkativeEnvironment(openingLength: number, replyLength: number): Environment<Scenario> {
  return {
    name: 'talkative',
    async reset() {
      const messages: Message[] = [
        { role: 'system', content: 's' },
        { role: 'user', content: 'u'.repeat(openingLength) },
      ];
      return {
        messages,
        async step(agentMessage) {
          messages.push({ role: 'assistant', content: agentMessage });
          const userMessage = 'r'.repeat(replyLength);
          messages.push({ role: 'user', content: userMessage });
          return { reward: 0, done: false, userMessage };
        },
      };
    },
  };
}

describe('rolloutGroups at the context edge', () => {
  it('never builds a conversation longer than maxSequenceLength (the closing template tokens included)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          openingLength: fc.integer({ min: 0, max: 40 }),
          replyLength: fc.integer({ min: 0, max: 12 }),
          maxNewTokens: fc.integer({ min: 1, max: 16 }),
          slack: fc.integer({ min: -3, max: 40 }),
          stopLogit: fc.constantFrom(-60, 0, 2),
          groupSize: fc.integer({ min: 1, max: 3 }),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        async ({ openingLength, replyLength, maxNewTokens, slack, stopLogit, groupSize, seed }) => {
          // The opening prompt's length plus what one turn needs, plus or minus a little.
          const openingPrompt = tokenizer.applyChatTemplate([
            { role: 'system', content: 's' },
            { role: 'user', content: 'u'.repeat(openingLength) },
          ]).length;
          const maxSequenceLength = Math.max(1, openingPrompt + maxNewTokens + slack);
          const result = await rolloutGroups({
            policy: policyStoppingWith(stopLogit),
            environment: talkativeEnvironment(openingLength, replyLength),
            scenarios: [{ id: 'edge' } as unknown as Scenario],
            groupSize,
            seed,
            generation: {
              maxNewTokens,
              temperature: 1,
              stopTokenIds: [tokenizer.endOfTurnTokenId],
            },
            rewards: [],
            maxSequenceLength,
            label: 'edge',
          });
          for (const trajectory of result.groups[0]!.trajectories) {
            expect(trajectory.tokenIds.length).toBeLessThanOrEqual(maxSequenceLength);
            expect(trajectory.lossMask).toHaveLength(trajectory.tokenIds.length);
            expect(trajectory.behaviorLogProbs).toHaveLength(trajectory.tokenIds.length);
            for (const turn of trajectory.turns) {
              expect(turn.tokenEnd).toBeLessThanOrEqual(trajectory.tokenIds.length);
              if (turn.role === 'assistant')
                expect(turn.tokenEnd - turn.tokenStart).toBeLessThanOrEqual(maxNewTokens);
            }
            // The conversation always ends by length: the user never stops talking.
            expect(trajectory.endReason).toBe('length');
          }
        },
      ),
      { numRuns: 300, seed: 12 },
    );
  });

  it('fills the context exactly when a turn fits with its closing tokens', async () => {
    // Opening prompt P, a turn of exactly maxNewTokens sampled ids, then `<|im_end|>\n` (2 ids).
    const messages: Message[] = [
      { role: 'system', content: 's' },
      { role: 'user', content: 'uuuu' },
    ];
    const openingPrompt = tokenizer.applyChatTemplate(messages).length;
    const maxNewTokens = 8;
    const result = await rolloutGroups({
      policy: policyStoppingWith(-60),
      environment: talkativeEnvironment(4, 3),
      scenarios: [{ id: 'edge' } as unknown as Scenario],
      groupSize: 1,
      seed: 3,
      generation: { maxNewTokens, temperature: 1, stopTokenIds: [tokenizer.endOfTurnTokenId] },
      rewards: [],
      maxSequenceLength: openingPrompt + maxNewTokens + 2,
      label: 'edge',
    });
    const trajectory = result.groups[0]!.trajectories[0]!;
    expect(trajectory.tokenIds).toHaveLength(openingPrompt + maxNewTokens + 2);
    expect(trajectory.lossMask.filter((bit) => bit === 1)).toHaveLength(maxNewTokens);
  });
});
