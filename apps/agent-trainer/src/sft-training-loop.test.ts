import { InvalidArgumentError, Random } from '@cohort/core';
import {
  createGptModel,
  createLlamaModel,
  initializeBackend,
  randomLlamaWeights,
} from '@cohort/tfjs';
import { describe, expect, it } from 'vitest';
import { lengthGroupedOrder, type SftEngine, trainOnAssistantTokens } from './sft-training-loop';

describe('lengthGroupedOrder', () => {
  it('visits every example once per pass in batches of similar length, in a seeded random order', () => {
    const random = new Random(5);
    const lengths = Array.from({ length: 300 }, () => random.int(100, 900));
    const batchSize = 4;
    const order = lengthGroupedOrder(lengths, batchSize, new Random(7));
    expect([...order].sort((a, b) => a - b)).toEqual(lengths.map((_, index) => index));
    expect(lengthGroupedOrder(lengths, batchSize, new Random(7))).toEqual(order);
    expect(lengthGroupedOrder(lengths, batchSize, new Random(8))).not.toEqual(order);
    // Padding per batch (longest minus each) against batches of a plain shuffle.
    const padding = (rows: number[]) => {
      let total = 0;
      for (let start = 0; start < rows.length; start += batchSize) {
        const batch = rows.slice(start, start + batchSize).map((row) => lengths[row] as number);
        total += batch.reduce((sum, length) => sum + Math.max(...batch) - length, 0);
      }
      return total;
    };
    const shuffled = new Random(7).shuffle(lengths.map((_, index) => index));
    expect(padding(order)).toBeLessThan(padding(shuffled) / 5);
    // Batches are not sorted by length overall: the first ten batches' longest lengths are not monotonic.
    const heads = Array.from(
      { length: 10 },
      (_, index) => lengths[order[index * batchSize] as number],
    );
    const sortedHeads = [...heads].sort((a, b) => (b as number) - (a as number));
    expect(heads).not.toEqual(sortedHeads);
  });
});

describe('trainOnAssistantTokens engines', () => {
  const config = {
    vocabSize: 23,
    hiddenSize: 16,
    intermediateSize: 24,
    layerCount: 2,
    headCount: 4,
    keyValueHeadCount: 2,
    contextLength: 64,
    tieWordEmbeddings: true,
    eosTokenId: 0,
  };
  // Counting sequences (each token the previous plus a per-sequence stride) of varied lengths, loss on the second half.
  const random = new Random(3);
  const examples = Array.from({ length: 24 }, () => {
    const length = random.int(12, 30);
    const stride = random.int(1, 3);
    let token = random.int(1, 22);
    const tokenIds = Array.from({ length }, () => {
      token = ((token + stride - 1) % 22) + 1;
      return token;
    });
    const lossMask = tokenIds.map((_, t) => (t >= length / 2 ? 1 : 0));
    return { tokenIds, lossMask };
  });
  const run = async (engine: SftEngine, lora?: { rank: number; alpha: number }) => {
    await initializeBackend();
    const model = createLlamaModel({ config, seed: 4, ...(lora ? { lora } : {}) });
    // Non-zero everything: norms other than 1.
    model.setWeights(randomLlamaWeights({ config: model.config, seed: 5, scale: 0.05 }));
    const losses: number[] = [];
    const result = await trainOnAssistantTokens({
      model,
      examples,
      padTokenId: 0,
      steps: lora ? 24 : 30,
      batchSize: 4,
      seed: 6,
      // LoRA's few parameters take a larger step.
      learningRate: lora ? 5e-2 : 1e-2,
      started: performance.now(),
      groupByLength: true,
      engine,
      onStep: ({ loss }) => losses.push(loss),
    });
    model.dispose();
    return { losses, initialLoss: result.initialLoss };
  };

  it('onnx and tfjs give the same loss curve from the same seed, and it falls', async () => {
    const tfjs = await run('tfjs');
    const onnx = await run('onnx');
    expect(onnx.losses).toHaveLength(30);
    expect(Math.abs(onnx.initialLoss - tfjs.initialLoss)).toBeLessThan(1e-5);
    for (let step = 0; step < 30; step++)
      expect(Math.abs(onnx.losses[step]! - tfjs.losses[step]!), `step ${step + 1}`).toBeLessThan(
        1e-4,
      );
    // ln 23 = 3.14 at chance; the counting rule is learnable well below it.
    expect(onnx.losses.at(-1)!).toBeLessThan(onnx.initialLoss - 0.5);
  });

  it('LoRA: onnx and tfjs give the same loss curve', async () => {
    const lora = { rank: 2, alpha: 4 };
    const tfjs = await run('tfjs', lora);
    const onnx = await run('onnx', lora);
    expect(onnx.losses).toHaveLength(24);
    for (let step = 0; step < 24; step++)
      expect(Math.abs(onnx.losses[step]! - tfjs.losses[step]!), `step ${step + 1}`).toBeLessThan(
        1e-4,
      );
    // B starts at zero: the loss moves only if A and B both learn.
    expect(onnx.losses.at(-1)!).toBeLessThan(onnx.initialLoss - 0.1);
  });

  it('refuses the onnx engine for a model outside the Llama family', async () => {
    await initializeBackend();
    const model = createGptModel({
      config: { vocabSize: 23, contextLength: 32, embeddingSize: 8, layerCount: 1, headCount: 2 },
    });
    const training = trainOnAssistantTokens({
      model,
      examples,
      padTokenId: 0,
      steps: 1,
      batchSize: 2,
      seed: 0,
      learningRate: 1e-3,
      started: 0,
      engine: 'onnx',
    });
    await expect(training).rejects.toThrow(InvalidArgumentError);
    await expect(training).rejects.toThrow(/engine/);
    model.dispose();
  });
});
