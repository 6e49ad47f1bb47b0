import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from '../backend';
import { generate } from '../generate';
import { tokenLogProbs } from '../token-log-probs';
import type { LlamaConfigInput } from './llama-config';
import { createLlamaModel } from './llama-model';
import { randomLlamaWeights, referenceLlamaLogits } from './reference-llama';

/** Tiny configs of each family, with every switch that family has turned on. */
export const tinyConfigs: Record<string, LlamaConfigInput> = {
  llama: {
    modelType: 'llama',
    vocabSize: 23,
    // Head size 8: rotary wavelengths 6.3, 30, 140, 664 fall in all three llama3 bands (< 8, 8..32, > 32).
    hiddenSize: 32,
    intermediateSize: 24,
    layerCount: 2,
    headCount: 4,
    keyValueHeadCount: 2,
    contextLength: 64,
    ropeTheta: 500,
    // Llama 3.1's scaling with an original context short enough that all three frequency bands occur.
    ropeScaling: {
      type: 'llama3',
      factor: 8,
      lowFrequencyFactor: 1,
      highFrequencyFactor: 4,
      originalContextLength: 32,
    },
    queryKeyValueBias: true,
    outputBias: true,
    mlpBias: true,
    tieWordEmbeddings: false,
    rmsNormEpsilon: 1e-5,
    eosTokenId: 2,
  },
  qwen2: {
    modelType: 'qwen2',
    vocabSize: 19,
    hiddenSize: 16,
    intermediateSize: 20,
    layerCount: 2,
    headCount: 4,
    keyValueHeadCount: 1,
    contextLength: 64,
    ropeTheta: 1000,
    tieWordEmbeddings: true,
    eosTokenId: 3,
  },
  qwen3: {
    modelType: 'qwen3',
    vocabSize: 21,
    hiddenSize: 16,
    intermediateSize: 24,
    layerCount: 2,
    headCount: 2,
    keyValueHeadCount: 1,
    headSize: 12,
    contextLength: 64,
    ropeTheta: 100,
    ropeScaling: { type: 'linear', factor: 2 },
    tieWordEmbeddings: false,
    eosTokenId: 1,
  },
};

function maximumDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let largest = 0;
  for (let index = 0; index < actual.length; index++) {
    largest = Math.max(largest, Math.abs((actual[index] as number) - (expected[index] as number)));
  }
  return largest;
}

const sequence = [1, 5, 9, 3, 7, 11, 2, 4, 8, 6, 10, 12, 0, 13, 1, 5, 7, 9, 3, 11];

describe('LlamaModel', () => {
  beforeAll(async () => {
    await initializeBackend({ logger: () => {} });
  });

  for (const [family, config] of Object.entries(tinyConfigs)) {
    it(`${family}: logits match an independent float64 implementation`, () => {
      const weights = randomLlamaWeights({ config, seed: 11 });
      const model = createLlamaModel({ config, zeroInitialize: true });
      model.setWeights(weights);
      const expected = referenceLlamaLogits({ config, weights, tokenIds: sequence });
      const { logits, presentKeyValues } = model.forward([sequence]);
      const actual = logits.dataSync();
      expect(maximumDifference(actual, expected.flat())).toBeLessThan(2e-5);
      // The logits spread enough that a wrong rotation or norm could not hide under the tolerance.
      expect(Math.max(...expected.flat()) - Math.min(...expected.flat())).toBeGreaterThan(0.5);
      tf.dispose([logits, ...presentKeyValues.flatMap(({ key, value }) => [key, value])]);
      model.dispose();
    });

    it(`${family}: the KV cache continues a sequence exactly, with padding and offsets`, () => {
      const weights = randomLlamaWeights({ config, seed: 12 });
      const model = createLlamaModel({ config, zeroInitialize: true });
      model.setWeights(weights);
      const full = model.forward([sequence.slice(0, 12)]);
      const first = model.forward([sequence.slice(0, 7)]);
      const second = model.forward([sequence.slice(7, 12)], {
        pastKeyValues: first.presentKeyValues,
      });
      const tail = full.logits.slice([0, 7, 0], [1, 5, -1]);
      expect(maximumDifference(second.logits.dataSync(), tail.dataSync())).toBeLessThan(1e-5);
      // The present keys are per key/value head: [B, Hkv, T, d].
      const parsed = model.config;
      expect(second.presentKeyValues[0]?.key.shape).toEqual([
        1,
        parsed.keyValueHeadCount,
        12,
        parsed.headSize,
      ]);
      tf.dispose([
        tail,
        full.logits,
        first.logits,
        second.logits,
        ...[full, first, second].flatMap((result) =>
          result.presentKeyValues.flatMap(({ key, value }) => [key, value]),
        ),
      ]);
      model.dispose();
    });
  }

  it('left-padded batches score like each sequence alone (tokenLogProbs)', () => {
    const config = tinyConfigs.llama as LlamaConfigInput;
    const model = createLlamaModel({ config, zeroInitialize: true });
    model.setWeights(randomLlamaWeights({ config, seed: 3 }));
    const sequences = [sequence.slice(0, 9), sequence.slice(3, 6)];
    const batch = tokenLogProbs(model, { sequences, padding: 'left' });
    const alone = tokenLogProbs(model, { sequences: [sequences[1] as number[]] });
    const batchRows = batch.logProbs.arraySync() as number[][];
    const aloneRow = (alone.logProbs.arraySync() as number[][])[0] as number[];
    expect(maximumDifference((batchRows[1] as number[]).slice(6), aloneRow)).toBeLessThan(1e-5);
    tf.dispose([batch.logProbs, batch.mask, alone.logProbs, alone.mask]);
    model.dispose();
  });

  it('generates with and without the cache to the same greedy tokens', async () => {
    const config = tinyConfigs.qwen3 as LlamaConfigInput;
    const model = createLlamaModel({ config, zeroInitialize: true });
    model.setWeights(randomLlamaWeights({ config, seed: 4 }));
    const options = {
      prompts: [
        [1, 2, 3],
        [4, 5],
      ],
      maxNewTokens: 6,
      temperature: 0,
      eosTokenId: null,
    };
    const cached = await generate(model, options);
    const recomputed = await generate(model, { ...options, useCache: false });
    expect(cached.map((result) => result.tokenIds)).toEqual(
      recomputed.map((result) => result.tokenIds),
    );
    expect(cached[0]?.tokenIds).toHaveLength(6);
    model.dispose();
  });

  it('names the misshaped, missing or unknown weight', () => {
    const config = tinyConfigs.qwen2 as LlamaConfigInput;
    const model = createLlamaModel({ config });
    const weights = randomLlamaWeights({ config, seed: 1 });
    const bad = {
      ...weights,
      'model.layers.1.self_attn.k_proj.weight': { shape: [16, 4], data: new Float32Array(64) },
    };
    expect(() => model.setWeights(bad)).toThrow(
      /model\.layers\.1\.self_attn\.k_proj\.weight.*is \[16, 4\].*must be \[4, 16\]/,
    );
    const { 'model.norm.weight': _removed, ...missing } = weights;
    expect(() => model.setWeights(missing)).toThrow(/model\.norm\.weight.*is missing/);
    expect(() =>
      model.setWeights({
        ...weights,
        'model.extra.weight': { shape: [1], data: new Float32Array(1) },
      }),
    ).toThrow(InvalidArgumentError);
    expect(() => model.forward([[0, 99]])).toThrow(/tokenIds\[0\]\[1\] = 99/);
    model.dispose();
  });
});
