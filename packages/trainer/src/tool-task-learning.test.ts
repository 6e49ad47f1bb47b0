import { type ChatTemplateOptions, defineTool, type Message, Random } from '@cohort/core';
import { MockTokenizer } from '@cohort/core/test';
import { createToolEnvironment } from '@cohort/environments';
import {
  createLlamaModel,
  createOptimizer,
  initializeBackend,
  LlamaPolicy,
  LlamaReferenceModel,
  randomLlamaWeights,
  UnigramPolicy,
  UnigramReference,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
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

/**
 * The phrase tokenizer over words instead of characters: every word of a
 * prompt or tool result is one id (hashed onto the 96 character ids), so the
 * conversations of a small Llama stay short. Per-message rendering keeps the
 * prefix property the rollout needs.
 */
class PhraseWordTokenizer extends PhraseTokenizer {
  override encode(text: string): number[] {
    return (text.match(/\S+/g) ?? []).map((word) => {
      let hash = 0;
      for (const character of word) hash = (hash * 31 + character.charCodeAt(0)) % 96;
      return phraseBase - 96 + hash;
    });
  }

  override applyChatTemplate(
    messages: readonly Message[],
    options: ChatTemplateOptions = {},
  ): number[] {
    const ids = messages.flatMap((message) => [
      2,
      ...this.encode(`${message.role} ${message.content}`),
      3,
    ]);
    if (options.addGenerationPrompt ?? true) ids.push(2, ...this.encode('assistant'));
    return ids;
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

/**
 * Success probability of a context-free policy that says phrase `i` with
 * probability `p[i]` every turn, by recursion over the store's state: a refund
 * of A1001 succeeds only while delivered, `cancel` ends any chance, the wrong
 * id changes nothing, any words end the episode (success iff refunded), and
 * six tool calls in a row hit the turn limit.
 */
function contextFreeSuccess(p: readonly number[]): number {
  const [refund = 0, cancel = 0, wrongRefund = 0, words1 = 0, words2 = 0] = p;
  const words = words1 + words2;
  const success = (state: 'delivered' | 'refunded' | 'cancelled', turnsLeft: number): number => {
    if (turnsLeft === 0) return 0;
    const next = (after: typeof state) => success(after, turnsLeft - 1);
    return (
      (state === 'refunded' ? words : 0) +
      refund * next(state === 'delivered' ? 'refunded' : state) +
      cancel * next('cancelled') +
      wrongRefund * next(state)
    );
  };
  return success('delivered', 6);
}

/** `P(X >= k)` for `X ~ Binomial(n, p)`, each term `C(n, i) p^i (1 - p)^(n - i)` summed from its logarithm. */
function binomialUpperTail(n: number, k: number, p: number): number {
  let logChoose = 0;
  let tail = 0;
  for (let i = 0; i <= n; i++) {
    if (i > 0) logChoose += Math.log((n - i + 1) / i);
    if (i >= k) tail += Math.exp(logChoose + i * Math.log(p) + (n - i) * Math.log(1 - p));
  }
  return tail;
}

describe('LoRA-GRPO on the tiny tool task with a tiny Llama', () => {
  it('raises held-out task success far beyond the base, which says each phrase with p = 1/5 exactly', async () => {
    // A base whose next-token distribution is exactly uniform over the five phrases in every
    // context: dimensions 1..8 of the residual stream (the "phrase channel") are zero in every
    // embedding and no base layer writes into them (their rows of o_proj and down_proj are zero),
    // and the untied head reads the phrases from that channel only, so every phrase logit is 0;
    // every other token's logit is -10 times the normalized dimension 0 (an embedding constant),
    // which leaves them below 1e-15 in all. The adapters on o_proj and down_proj can write the
    // channel, and those on q/k/v can make what they write depend on the conversation.
    const words = new PhraseWordTokenizer();
    const width = 32;
    const phraseChannel = Array.from({ length: 8 }, (_, index) => index + 1);
    const config = {
      modelType: 'llama' as const,
      vocabSize: words.vocabSize,
      hiddenSize: width,
      intermediateSize: 64,
      layerCount: 2,
      headCount: 4,
      keyValueHeadCount: 2,
      contextLength: 2048,
      tieWordEmbeddings: false,
      eosTokenId: words.eosTokenId,
    };
    const weights = randomLlamaWeights({ config, seed: 4, scale: 0.1 });
    const random = new Random(9);
    const embedding = weights['model.embed_tokens.weight']!.data;
    const head = weights['lm_head.weight']!.data;
    for (let token = 0; token < config.vocabSize; token++) {
      for (let dimension = 0; dimension < width; dimension++) {
        const index = token * width + dimension;
        const inChannel = phraseChannel.includes(dimension);
        embedding[index] = dimension === 0 ? 1 : inChannel ? 0 : random.normal(0, 0.3);
        if (token >= phraseBase) head[index] = inChannel ? random.normal(0, 1) : 0;
        else head[index] = dimension === 0 ? -10 : 0;
      }
    }
    for (let layer = 0; layer < config.layerCount; layer++) {
      for (const name of ['self_attn.o_proj', 'mlp.down_proj']) {
        const { shape, data } = weights[`model.layers.${layer}.${name}.weight`]!;
        const inSize = shape[1] as number;
        for (const dimension of phraseChannel)
          data.fill(0, dimension * inSize, (dimension + 1) * inSize);
      }
    }
    const model = createLlamaModel({
      config,
      zeroInitialize: true,
      lora: {
        rank: 4,
        alpha: 8,
        targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
        seed: 3,
      },
    });
    model.setWeights(weights);
    const policy = new LlamaPolicy({ model, tokenizer: words });
    // A short conversation to read the next-token distribution from (the phrase logits are the
    // same in every context; this one has no tool instructions).
    const conversation = words.applyChatTemplate(
      [
        { role: 'system', content: 'You are the store agent.' },
        { role: 'user', content: 'Please refund my order A1001.' },
      ],
      { addGenerationPrompt: true },
    );
    const phraseProbabilities = (scorer: Pick<typeof model, 'forward'>) =>
      tf.tidy(() => {
        const { logits } = scorer.forward([conversation]);
        const last = logits.slice([0, conversation.length - 1, 0], [1, 1, -1]).reshape([-1]);
        return Array.from(tf.softmax(last).dataSync().slice(phraseBase));
      });
    const start = phraseProbabilities(model);
    // Exactly equal phrase logits; 0.2 up to float32 rounding of the softmax.
    expect(new Set(start).size).toBe(1);
    expect(start[0]).toBeCloseTo(0.2, 7);
    const p0 = contextFreeSuccess(start);
    // The enumeration reproduces the figure of the unigram test above.
    expect(p0).toBeCloseTo(0.164, 3);

    const trainer = new GrpoTrainer<RefundTask>({
      policy,
      optimizer: createOptimizer({
        type: 'adam',
        learningRate: 0.01,
        maxGradNorm: 1,
        variables: policy.namedVariables(),
      }),
      referenceModel: new LlamaReferenceModel({ model, padTokenId: words.padTokenId }),
      environment,
      trainScenarios: trainTasks,
      rewards: [],
      config: {
        seed: 11,
        scenariosPerStep: 4,
        groupSize: 8,
        generation: { maxNewTokens: 1 },
        maxSequenceLength: config.contextLength,
        minibatchSize: 32,
        kl: { controller: { type: 'fixed', coefficient: 0.001 }, estimator: 'k3' },
        evaluation: { everySteps: 0, episodesPerScenario: 4, temperature: 1, seed: 3 },
      },
    });
    const evaluation = { environment, rewards: [], scenarios: heldOutTasks, maxScenarios: 0 };
    const before = await evaluateStratified(trainer, evaluation);
    // Measured with this seed (held-out success after step n): 0.35 (2), 0.53 (6), 0.38 (10),
    // 0.88 (12), 0.98 (14), 0.99 (16); the policy first learns to refund, then to answer after it.
    for (let step = 0; step < 14; step++) await trainer.step();
    const after = await evaluateStratified(trainer, evaluation);

    expect(before.episodes).toBe(128);
    expect(after.episodes).toBe(128);
    // The base's held-out success is a draw of Binomial(128, p0 = 0.164).
    expect(before.successRate).toBeLessThan(0.3);
    // Chance: P(Binomial(128, p0) >= the trained policy's successes), summed exactly in log space.
    const successes = Math.round(after.successRate * after.episodes);
    expect(binomialUpperTail(after.episodes, successes, p0)).toBeLessThan(1e-9);
    expect(after.successInterval[0]).toBeGreaterThan(before.successInterval[1]);
    // Beyond the best context-free policy (refund with probability r, words otherwise): the
    // adapters made the reply depend on the conversation (refund first, then words). The bound is
    // also far beyond chance: P(Binomial(128, 0.164) >= 75) is below 1e-20.
    let contextFreeBest = 0;
    for (let r = 0; r <= 1; r += 0.005)
      contextFreeBest = Math.max(contextFreeBest, contextFreeSuccess([r, 0, 0, 1 - r, 0]));
    expect(contextFreeBest).toBeCloseTo(0.582, 2);
    expect(after.successInterval[0]).toBeGreaterThan(contextFreeBest);
    // The reference (adapters off) is still the base: uniform over the phrases.
    expect(phraseProbabilities(model.withoutAdapters())).toEqual(start);
    model.dispose();
  }, 180_000);
});
