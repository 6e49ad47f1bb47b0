import { Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from './backend';
import { generate } from './generate';
import { createGptModel, type GptModel } from './gpt-model';
import { tokenLogProbs } from './token-log-probs';

const config = {
  vocabSize: 17,
  contextLength: 24,
  embeddingSize: 16,
  layerCount: 2,
  headCount: 2,
  eosTokenId: 16,
};

describe('generate', () => {
  let model: GptModel;
  beforeAll(async () => {
    await initializeBackend({ backend: 'wasm', logger: false });
    model = createGptModel({ config, seed: 3 });
    model.setWeights(
      Object.fromEntries(
        Object.entries(model.getWeights()).map(([name, t]) => [
          name,
          { shape: t.shape, data: t.data.map((v) => v * 15) },
        ]),
      ),
    );
  });

  it('gives the same tokens and log-probs with the KV cache as with full recomputation', async () => {
    const prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9]];
    for (const temperature of [0, 1.3]) {
      const options = {
        prompts,
        maxNewTokens: 10,
        temperature,
        topK: 8,
        topP: 0.95,
        seed: 5,
        eosTokenId: null,
      };
      const cached = await generate(model, options);
      const uncached = await generate(model, { ...options, useCache: false });
      expect(cached.map((s) => s.tokenIds)).toEqual(uncached.map((s) => s.tokenIds));
      cached.forEach((sequence, b) => {
        expect(sequence.tokenIds).toHaveLength(10);
        sequence.logProbsPerToken.forEach((value, t) => {
          expect(value).toBeCloseTo(uncached[b]?.logProbsPerToken[t] as number, 3);
        });
      });
    }
  });

  it('gives each left-padded prompt the tokens it gets alone', async () => {
    const prompts = [[1, 2, 3, 4, 5, 6], [7], [8, 9]];
    const batched = await generate(model, {
      prompts,
      maxNewTokens: 6,
      temperature: 0,
      eosTokenId: null,
    });
    for (const [index, prompt] of prompts.entries()) {
      const [alone] = await generate(model, {
        prompts: [prompt],
        maxNewTokens: 6,
        temperature: 0,
        eosTokenId: null,
      });
      expect(batched[index]?.tokenIds).toEqual(alone?.tokenIds);
    }
  });

  it('reports log-probs under the temperature-scaled full distribution, as tokenLogProbs computes them', async () => {
    const prompts = [
      [1, 2],
      [3, 4, 5],
    ];
    const temperature = 0.7;
    const out = await generate(model, {
      prompts,
      maxNewTokens: 5,
      temperature,
      topK: 3,
      seed: 9,
      eosTokenId: null,
    });
    const sequences = prompts.map((prompt, b) => [
      ...prompt,
      ...(out[b] as { tokenIds: number[] }).tokenIds,
    ]);
    const { logProbs, mask } = tokenLogProbs(model, { sequences, temperature });
    const rows = logProbs.arraySync();
    prompts.forEach((prompt, b) => {
      out[b]?.logProbsPerToken.forEach((value, t) => {
        expect(value).toBeCloseTo(rows[b]?.[prompt.length + t] as number, 3);
      });
    });
    tf.dispose([logProbs, mask]);
  });

  it('is reproducible by seed, samples differently with another seed, and topK 1 is greedy', async () => {
    const options = { prompts: [[1], [2]], maxNewTokens: 12, temperature: 1.5, eosTokenId: null };
    const a = await generate(model, { ...options, seed: 1 });
    const b = await generate(model, { ...options, random: new Random(1) });
    const c = await generate(model, { ...options, seed: 2 });
    expect(a).toEqual(b);
    expect(a.map((s) => s.tokenIds)).not.toEqual(c.map((s) => s.tokenIds));
    const greedy = await generate(model, { ...options, temperature: 0 });
    const topOne = await generate(model, { ...options, topK: 1, seed: 3 });
    expect(topOne.map((s) => s.tokenIds)).toEqual(greedy.map((s) => s.tokenIds));
  });

  it('samples according to the distribution (top-p keeps the nucleus only)', async () => {
    const tiny = createGptModel({
      config: { vocabSize: 4, contextLength: 4, embeddingSize: 4, layerCount: 1, headCount: 1 },
      seed: 4,
    });
    const { logits } = tiny.forward([[0]]);
    const z = Array.from(logits.dataSync());
    const probabilities = z.map((v) => Math.exp(v - Math.max(...z)));
    const total = probabilities.reduce((s, p) => s + p, 0);
    const counts = [0, 0, 0, 0];
    const random = new Random(6);
    for (let draw = 0; draw < 400; draw++) {
      const [s] = await generate(tiny, {
        prompts: [[0]],
        maxNewTokens: 1,
        random,
        eosTokenId: null,
      });
      counts[s?.tokenIds[0] as number] = (counts[s?.tokenIds[0] as number] as number) + 1;
    }
    counts.forEach((count, v) => {
      expect(Math.abs(count / 400 - (probabilities[v] as number) / total)).toBeLessThan(0.08);
    });
    const best = z.indexOf(Math.max(...z));
    const [nucleus] = await generate(tiny, {
      prompts: [[0]],
      maxNewTokens: 3,
      topP: 1e-6,
      seed: 1,
      eosTokenId: null,
    });
    expect(nucleus?.tokenIds[0]).toBe(best);
    tiny.dispose();
  });

  it('stops at EOS, at stop tokens and at the length limit, keeping the final token', async () => {
    const [free] = await generate(model, {
      prompts: [[1, 2]],
      maxNewTokens: 8,
      temperature: 0,
      eosTokenId: null,
    });
    const first = free?.tokenIds[0] as number;
    const [eos] = await generate(model, {
      prompts: [[1, 2]],
      maxNewTokens: 8,
      temperature: 0,
      eosTokenId: first,
    });
    expect(eos).toMatchObject({ tokenIds: [first], finishReason: 'eos' });
    const third = free?.tokenIds[2] as number;
    const [stop] = await generate(model, {
      prompts: [[1, 2]],
      maxNewTokens: 8,
      temperature: 0,
      eosTokenId: null,
      stopTokenIds: [third],
    });
    expect(stop?.finishReason).toBe('stop');
    expect(stop?.tokenIds.at(-1)).toBe(third);
    expect(free?.finishReason).toBe('length');
    const [context] = await generate(model, {
      prompts: [Array.from({ length: 20 }, () => 1)],
      maxNewTokens: 50,
      temperature: 0,
      eosTokenId: null,
    });
    expect(context?.tokenIds).toHaveLength(4);
    expect(context?.finishReason).toBe('length');
    await expect(generate(model, { prompts: [[]], maxNewTokens: 1 })).rejects.toThrow(
      /prompts\[0\]/,
    );
    await expect(generate(model, { prompts: [[1]], maxNewTokens: 1, topP: 0 })).rejects.toThrow(
      /topP/,
    );
    await expect(
      generate(model, { prompts: [[1]], maxNewTokens: 1, temperature: -1 }),
    ).rejects.toThrow(/temperature/);
    expect(await generate(model, { prompts: [], maxNewTokens: 3 })).toEqual([]);
  });

  it('leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    await generate(model, { prompts: [[1, 2], [3]], maxNewTokens: 5, seed: 1 });
    await generate(model, { prompts: [[1, 2], [3]], maxNewTokens: 5, seed: 1, useCache: false });
    expect(tf.memory().numTensors).toBe(before);
  });
});
