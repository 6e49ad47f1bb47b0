import { defineTool } from '@cohort/core';
import { MockTokenizer } from '@cohort/core/test';
import { createToolEnvironment } from '@cohort/environments';
import { createOptimizer, initializeBackend, UnigramPolicy, UnigramReference } from '@cohort/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GrpoTrainer } from './grpo-trainer';
import { evaluateStratified } from './stratified-evaluation';

/** What the agent can say: each is one token, so a context-free policy can learn the right call. */
const phrases = [
  '<tool_call>\n{"name":"refund","arguments":{"order_id":"A1001"}}\n</tool_call>',
  '<tool_call>\n{"name":"cancel","arguments":{"order_id":"A1001"}}\n</tool_call>',
  '<tool_call>\n{"name":"refund","arguments":{"order_id":"A9999"}}\n</tool_call>',
  'Your refund is on its way.',
  'Could you wait a moment?',
] as const;
const phraseBase = new MockTokenizer().vocabSize;

/** The mock tokenizer plus one token per phrase (decoded whole). */
class PhraseTokenizer extends MockTokenizer {
  override readonly vocabSize = phraseBase + phrases.length;

  override decode(tokenIds: readonly number[], options: { skipSpecialTokens?: boolean } = {}) {
    return tokenIds
      .map((id) => (id >= phraseBase ? phrases[id - phraseBase]! : super.decode([id], options)))
      .join('');
  }
}

interface RefundTask {
  id: string;
  category: string;
}

/**
 * A one-order store: success is the order refunded when the customer leaves
 * (the database checked by code), as in the support desk. `refund` fails on an
 * unknown order id or an order no longer delivered; `cancel` is a wrong action.
 */
const environment = createToolEnvironment<RefundTask>({
  name: 'tiny-refund',
  toolPrompt: 'compact',
  maxAgentTurns: 6,
  createTask: () => {
    const orders = new Map([['A1001', 'delivered']]);
    const orderId = z.object({ order_id: z.string() });
    const done = () => orders.get('A1001') === 'refunded';
    return {
      systemPrompt: 'You are the store agent.',
      openingMessage: 'Please refund my order A1001.',
      tools: [
        defineTool({
          name: 'refund',
          description: 'Refunds a delivered order.',
          parameters: orderId,
          execute: ({ order_id }) => {
            if (orders.get(order_id) !== 'delivered')
              throw new Error(`no delivered order ${order_id}`);
            orders.set(order_id, 'refunded');
            return { refunded: order_id };
          },
        }),
        defineTool({
          name: 'cancel',
          description: 'Cancels an order.',
          parameters: orderId,
          execute: ({ order_id }) => {
            orders.set(order_id, 'cancelled');
            return { cancelled: order_id };
          },
        }),
      ],
      respond: () => ({ done: true, endReason: done() ? 'success' : 'give-up' }),
      // Paid only when the customer leaves satisfied: paying for the refunded state alone taught
      // the policy to refund again and again until the turn limit (reward 1, success 0).
      finish: ({ endReason }) => ({ reward: endReason === 'success' ? 1 : 0 }),
    };
  },
});

const tokenizer = new PhraseTokenizer();
const trainTasks: RefundTask[] = Array.from({ length: 8 }, (_, index) => ({
  id: `train-${index}`,
  category: 'refund',
}));
const heldOutTasks: RefundTask[] = Array.from({ length: 32 }, (_, index) => ({
  id: `held-out-${index}`,
  category: 'refund',
}));

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

describe('GRPO on a tiny tool task', () => {
  it('raises held-out task success (final database state) far beyond the untrained policy', async () => {
    // Every phrase at logit 0, every other token far below: the untrained policy says each phrase with p = 1/5.
    const initialLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
      id >= phraseBase ? 0 : -30,
    );
    const policy = new UnigramPolicy({ tokenizer, initialLogits });
    const trainer = new GrpoTrainer<RefundTask>({
      policy,
      optimizer: createOptimizer({
        type: 'adamw',
        learningRate: 0.1,
        variables: policy.namedVariables(),
      }),
      referenceModel: new UnigramReference(policy),
      environment,
      trainScenarios: trainTasks,
      rewards: [],
      config: {
        seed: 11,
        scenariosPerStep: 4,
        groupSize: 8,
        generation: { maxNewTokens: 1 },
        maxSequenceLength: 4096,
        kl: { controller: { type: 'fixed', coefficient: 0.001 } },
        evaluation: { everySteps: 0, episodesPerScenario: 4, temperature: 1, seed: 3 },
      },
    });
    const evaluation = {
      environment,
      rewards: [],
      scenarios: heldOutTasks,
      maxScenarios: 0,
      episodeCounts: (trajectory: { messages: readonly { role: string; content: string }[] }) => ({
        inventedOrderIds: trajectory.messages.filter(
          (message) => message.role === 'assistant' && message.content.includes('A9999'),
        ).length,
      }),
    };
    const before = await evaluateStratified(trainer, evaluation);
    for (let step = 0; step < 25; step++) await trainer.step();
    const after = await evaluateStratified(trainer, evaluation);

    expect(before.episodes).toBe(128);
    expect(after.episodes).toBe(128);
    // A context-free policy over the five phrases: success needs the right refund, later words, and
    // no cancel between, within 6 agent turns. Enumerating the phrase sequences by hand-written
    // recursion: the untrained policy (1/5 each) succeeds with p0 = 0.164, and the best a
    // context-free policy can do (refund 0.7, words 0.3) is 0.582. P(Binomial(128, 0.164) >= 52)
    // is about 6e-11, so a held-out success of 0.4 or more is not chance.
    expect(before.successRate).toBeLessThan(0.3);
    expect(after.successRate).toBeGreaterThanOrEqual(0.4);
    expect(after.successInterval[0]).toBeGreaterThan(before.successInterval[1]);
    // Tool use over every held-out episode: the trained policy calls a tool in more episodes.
    expect(before.toolCalls!.episodes).toBe(128);
    expect(after.toolCalls!.episodesWithCalls).toBeGreaterThan(before.toolCalls!.episodesWithCalls);
    // The invented order id (a failing refund) is counted over every episode, and learned away.
    const inventedBefore = before.counts?.inventedOrderIds ?? Number.NaN;
    const inventedAfter = after.counts?.inventedOrderIds ?? Number.NaN;
    expect(inventedBefore).toBeGreaterThan(0);
    expect(inventedAfter).toBeLessThan(inventedBefore);
    expect(after.toolCalls!.errorsByKind['tool-error']).toBeGreaterThanOrEqual(inventedAfter);
  });
});
