import path from 'node:path';
import { InvalidArgumentError, Random, type RewardContext, ScenarioSchema } from '@cohort/core';
import { createJudgeRanker } from '@cohort/environments';
import { promptGenome } from '@cohort/evolution';
import { referenceGpt2Logits } from '@cohort/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { causalLmTextClassifier } from './causal-lm-text-classifier';
import { featureExtractionFeaturizer } from './feature-extraction-featurizer';
import { llmTextRewriter } from './llm-text-rewriter';
import { LlmUserSimulator } from './llm-user-simulator';
import { type LoadedCausalLm, loadCausalLm } from './load-causal-lm';
import { ModelFilesError } from './model-files-error';
import { makeTinyModel, type TinyModel } from './test-support/tiny-model';
import { textClassificationReward } from './text-classification-reward';
import { TransformersChatModel } from './transformers-chat-model';
import { TransformersSampler } from './transformers-sampler';

let tiny: TinyModel;
let loaded: LoadedCausalLm;
let sampler: TransformersSampler;

beforeAll(async () => {
  tiny = await makeTinyModel({ seed: 9, contextLength: 256 });
  loaded = await loadCausalLm({ model: tiny.directory });
  sampler = new TransformersSampler({ model: loaded.model, tokenizer: loaded.tokenizer });
});
afterAll(async () => tiny?.cleanup());

function logSoftmaxRow(row: number[]): number[] {
  const top = Math.max(...row);
  const logSum = top + Math.log(row.reduce((sum, value) => sum + Math.exp(value - top), 0));
  return row.map((value) => value - logSum);
}

const scenario = ScenarioSchema.parse({
  id: 'late-order',
  category: 'shipping',
  persona: 'A busy parent',
  goal: 'Get a refund for order A1',
  successCriteria: [{ id: 'refund', description: 'offers a refund', anyOf: ['refund'] }],
  maxTurns: 4,
  user: { opening: 'My order A1 is late.', followUps: ['Any news?'] },
});

describe('featureExtractionFeaturizer over the real transformers.js pipeline', () => {
  it('mean-pools the final features of the exported GPT-2 into unit vectors', async () => {
    const featurizer = await featureExtractionFeaturizer({
      model: { model: tiny.directory },
      batchSize: 2,
    });
    expect(featurizer.dimension).toBe(tiny.config.vocabSize);
    const texts = ['hello there', 'the cat sat on the mat', 'my order'];
    const vectors = await featurizer.featurize(texts);
    expect(vectors).toHaveLength(3);
    for (const vector of vectors) expect(Math.hypot(...vector)).toBeCloseTo(1, 4);
    // Independent: the mean over positions of the float64 GPT-2 outputs, normalized.
    const vocab = tiny.config.vocabSize;
    texts.forEach((text, index) => {
      const ids = tiny.tokenizer.encode(text);
      const logits = referenceGpt2Logits({
        config: tiny.config,
        weights: tiny.weights,
        tokenIds: ids,
      });
      const mean = Array.from(
        { length: vocab },
        (_, v) =>
          ids.reduce((sum, _id, t) => sum + (logits[t * vocab + v] as number), 0) / ids.length,
      );
      const norm = Math.hypot(...mean);
      mean.forEach((value, v) => {
        expect(vectors[index]?.[v]).toBeCloseTo(value / norm, 4);
      });
    });
    expect(await featurizer.featurize([])).toEqual([]);
  });

  it('refuses a missing model folder and a pipeline of the wrong shape, naming them', async () => {
    const missing = path.join(path.dirname(tiny.directory), 'absent');
    const error = await featureExtractionFeaturizer({ model: { model: missing } }).catch(
      (caught: unknown) => caught,
    );
    expect(
      ModelFilesError.isInstance(error) && (error as ModelFilesError).directory === missing,
    ).toBe(true);
    const unpooled = async (texts: string[]) => ({
      data: new Float32Array(texts.length * 6),
      dims: [texts.length, 2, 3],
    });
    await expect(featureExtractionFeaturizer({ pipeline: unpooled })).rejects.toThrow(
      /pipeline\(\.\.\.\)\.dims/,
    );
    const broken = async (texts: string[]) => ({
      data: new Float32Array(texts.length * 2).fill(Number.NaN),
      dims: [texts.length, 2],
    });
    await expect(featureExtractionFeaturizer({ pipeline: broken })).rejects.toThrow(
      /features\[0\]\[0\]/,
    );
  });
});

describe('textClassificationReward over a causal-LM zero-shot classifier', () => {
  it('rewards weight x P(label), with P from the label words under the model', async () => {
    const classify = causalLmTextClassifier({
      model: loaded.model,
      tokenizer: loaded.tokenizer,
      labels: { helpful: ' yes', unhelpful: ' no' },
      template: (text) => `${text} ok?`,
    });
    const reward = await textClassificationReward({
      pipeline: classify,
      label: 'helpful',
      weight: 2,
      scope: 'turn',
    });
    expect(reward.name).toBe('text-classification:helpful');
    const context: RewardContext = {
      scenario,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'I will refund your order' },
      ],
      completion: 'I will refund your order',
      turnIndex: 0,
      done: false,
      completionTokenCount: 5,
    };
    const score = (await reward.score(context)) as number;
    // Independent: sum of label-token log-probs from the float64 GPT-2, softmax over the two labels.
    const prompt = tiny.tokenizer.encode('I will refund your order ok?');
    const vocab = tiny.config.vocabSize;
    const labelLogProb = (words: string) => {
      const ids = tiny.tokenizer.encode(words);
      const sequence = [...prompt, ...ids];
      const logits = referenceGpt2Logits({
        config: tiny.config,
        weights: tiny.weights,
        tokenIds: sequence,
      });
      return ids.reduce((sum, id, k) => {
        const t = prompt.length + k;
        return (
          sum +
          (logSoftmaxRow(Array.from(logits.subarray((t - 1) * vocab, t * vocab)))[id] as number)
        );
      }, 0);
    };
    const yes = Math.exp(labelLogProb(' yes'));
    const no = Math.exp(labelLogProb(' no'));
    expect(score).toBeCloseTo((2 * yes) / (yes + no), 4);
    const scores = (await classify(['I will refund your order'], { top_k: null }))[0] as {
      label: string;
      score: number;
    }[];
    expect(scores.reduce((sum, entry) => sum + entry.score, 0)).toBeCloseTo(1, 6);
    expect(scores[0]?.score).toBeGreaterThanOrEqual(scores[1]?.score as number);
    const wrong = await textClassificationReward({ pipeline: classify, label: 'polite' });
    await expect(wrong.score(context)).rejects.toThrow(
      /label = "polite": is not a label of the classifier \(labels: (unhelpful, helpful|helpful, unhelpful)\)/,
    );
    expect(() =>
      causalLmTextClassifier({
        model: loaded.model,
        tokenizer: loaded.tokenizer,
        labels: { only: ' x' },
      }),
    ).toThrow(InvalidArgumentError);
  });
});

describe('LlmUserSimulator', () => {
  const messages = [
    { role: 'system' as const, content: 'You are a support agent.' },
    { role: 'user' as const, content: 'My order A1 is late.' },
    { role: 'assistant' as const, content: 'Let me check the order.' },
  ];

  it('writes the next user turn with the model, deterministically for a random state', async () => {
    const user = new LlmUserSimulator({ sampler, maxNewTokens: 12 });
    const first = await user.respond({ scenario, messages, random: new Random(5) });
    const again = await user.respond({ scenario, messages, random: new Random(5) });
    expect(again).toEqual(first);
    expect(first.done).toBe(false);
    expect(typeof first.message).toBe('string');
    expect(first.message.length).toBeGreaterThan(0);
    const replies = await Promise.all(
      [6, 7, 8].map((seed) => user.respond({ scenario, messages, random: new Random(seed) })),
    );
    expect(new Set([first.message, ...replies.map((reply) => reply.message)]).size).toBeGreaterThan(
      1,
    );
    // The opening comes from the script unless asked to generate it.
    expect(
      await user.respond({ scenario, messages: messages.slice(0, 1), random: new Random(1) }),
    ).toEqual({ message: 'My order A1 is late.', done: false });
  });

  it('ends with success when the criteria are met, and gives up on a stop phrase', async () => {
    const user = new LlmUserSimulator({ sampler, maxNewTokens: 12 });
    const success = await user.respond({
      scenario,
      messages: [...messages, { role: 'assistant', content: 'I issued a refund.' }],
      random: new Random(1),
    });
    expect(success).toEqual({ message: scenario.user.thanks, done: true, endReason: 'success' });
    const free = await user.respond({ scenario, messages, random: new Random(5) });
    const phrase = free.message.slice(0, 3);
    const stopping = new LlmUserSimulator({ sampler, maxNewTokens: 12, stopPhrases: [phrase] });
    const reply = await stopping.respond({ scenario, messages, random: new Random(5) });
    expect(reply.done).toBe(true);
    expect(reply.endReason).toBe('give-up');
    expect(reply.message.toLowerCase()).toContain(phrase.toLowerCase().trim());
  });
});

describe('llmTextRewriter', () => {
  it('mutates and crosses over prompts through the local model, deterministically for a seed', async () => {
    const rewrite = llmTextRewriter({ sampler, maxNewTokens: 16 });
    const request = (seed: number) => ({
      instruction: 'Rewrite this.',
      texts: ['Be kind and brief.'],
      random: new Random(seed),
    });
    const first = await rewrite(request(3));
    expect(typeof first).toBe('string');
    expect(await rewrite(request(3))).toBe(first);
    const others = await Promise.all([4, 5, 6].map((seed) => rewrite(request(seed))));
    expect(new Set([first, ...others]).size).toBeGreaterThan(1);
    const crossed = await rewrite({
      instruction: 'Combine these.',
      texts: ['Be kind.', 'Be brief.'],
      random: new Random(1),
    });
    expect(typeof crossed).toBe('string');
    await expect(rewrite({ instruction: 'x', texts: [], random: new Random(1) })).rejects.toThrow(
      /texts/,
    );
    // Plugged into evolution's prompt genome: an LLM mutation always yields a non-empty prompt.
    const genome = promptGenome({
      phrases: ['Be kind.', 'Be brief.'],
      rewrite,
      llmMutationProbability: 1,
    });
    const mutated = await genome.operators.mutate('Be kind and brief.', new Random(2));
    const repeated = await genome.operators.mutate('Be kind and brief.', new Random(2));
    expect(mutated).toBe(repeated);
    expect(mutated.length).toBeGreaterThan(0);
  });
});

describe('TransformersChatModel as a judge', () => {
  it('answers with the chat template and the seed, and a judge ranker reports what it made of it', async () => {
    const model = new TransformersChatModel({ sampler, name: 'tiny' });
    const messages = [{ role: 'user' as const, content: 'my order has not arrived' }];
    const request = {
      messages,
      signal: new AbortController().signal,
      maxTokens: 6,
      temperature: 1,
      seed: 5,
    };
    const text = await model.complete(request);
    expect(await model.complete(request)).toBe(text);
    const prompt = loaded.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    expect(
      await sampler.generateTexts({ prompt, n: 1, seed: 5, maxNewTokens: 6, temperature: 1 }),
    ).toEqual([text]);
    await expect(model.complete({ ...request, maxTokens: 250 })).rejects.toThrow(
      /exceeds the model's context of 256/,
    );
    const aborted = new AbortController();
    aborted.abort();
    await expect(model.complete({ ...request, signal: aborted.signal })).rejects.toThrow();
    // The judge's prompt does not fit the tiny model's 256 positions: the ranker reports why and scores nothing.
    const ranker = createJudgeRanker({ model, maxTokens: 8, timeoutMs: 30_000 });
    const result = await ranker.scoreGroup({
      groupId: 'g',
      trajectories: [
        { id: 'a', messages: [...messages, { role: 'assistant', content: 'yes' }] },
        { id: 'b', messages: [...messages, { role: 'assistant', content: 'no' }] },
      ],
    });
    expect(result.scores).toEqual([null, null]);
    expect(result.report.error).toMatchObject({
      kind: 'request',
      message: expect.stringMatching(/exceeds the model's context of 256/),
    });
  });
});
