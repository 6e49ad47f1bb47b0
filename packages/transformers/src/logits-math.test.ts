import { NonFiniteError, Random } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { logSoftmax, sampleTruncated } from './logits-math';
import { runSamplingLoop } from './sampling-loop';

describe('logSoftmax', () => {
  it('matches hand-computed values, with an offset and a temperature', () => {
    // log_softmax([1, 2, 3]) = [1, 2, 3] - log(e + e^2 + e^3)
    const logSum = Math.log(Math.E + Math.E ** 2 + Math.E ** 3);
    const values = logSoftmax([9, 1, 2, 3], 1, 3);
    expect(Array.from(values)).toEqual(
      [1 - logSum, 2 - logSum, 3 - logSum].map((v) => expect.closeTo(v, 12)),
    );
    // At T = 2: softmax of [0.5, 1, 1.5].
    const halved = logSoftmax([1, 2, 3], 0, 3, 2);
    const halfSum = Math.log(Math.exp(0.5) + Math.exp(1) + Math.exp(1.5));
    expect(halved[2]).toBeCloseTo(1.5 - halfSum, 12);
  });

  it('stays finite for huge and equal values and a single entry', () => {
    const huge = logSoftmax([3e38, 3e38, -3e38], 0, 3);
    expect(huge[0]).toBeCloseTo(Math.log(0.5), 12);
    expect((huge[2] as number) / -6e38).toBeCloseTo(1, 12);
    expect(Array.from(logSoftmax([5, 5, 5, 5], 0, 4))).toEqual(
      new Array(4).fill(expect.closeTo(Math.log(0.25), 12)),
    );
    expect(Array.from(logSoftmax([-7], 0, 1))).toEqual([0]);
  });
});

describe('sampleTruncated', () => {
  const logProbs = Float64Array.from([0.5, 0.3, 0.15, 0.05], Math.log);

  it('draws each id with its probability when nothing is truncated', () => {
    const random = new Random(1);
    const counts = [0, 0, 0, 0];
    for (let draw = 0; draw < 20000; draw++) counts[sampleTruncated(logProbs, 0, 1, random)]! += 1;
    [0.5, 0.3, 0.15, 0.05].forEach((p, id) => {
      expect(Math.abs((counts[id] as number) / 20000 - p)).toBeLessThan(0.015);
    });
  });

  it('top-k keeps the k most likely, renormalized; top-p the smallest prefix reaching p', () => {
    const random = new Random(2);
    const topTwo = [0, 0, 0, 0];
    for (let draw = 0; draw < 8000; draw++) topTwo[sampleTruncated(logProbs, 2, 1, random)]! += 1;
    expect(topTwo[2]).toBe(0);
    expect(topTwo[3]).toBe(0);
    expect(Math.abs((topTwo[0] as number) / 8000 - 0.5 / 0.8)).toBeLessThan(0.02);
    // p = 0.8 is reached by {0.5, 0.3}; p = 0.81 needs the third token too.
    const nucleus = new Set<number>();
    for (let draw = 0; draw < 2000; draw++) nucleus.add(sampleTruncated(logProbs, 0, 0.8, random));
    expect([...nucleus].sort()).toEqual([0, 1]);
    const wider = new Set<number>();
    for (let draw = 0; draw < 4000; draw++) wider.add(sampleTruncated(logProbs, 0, 0.81, random));
    expect([...wider].sort()).toEqual([0, 1, 2]);
  });
});

describe('runSamplingLoop', () => {
  const tokenizer = {
    vocabSize: 3,
    eosTokenId: 0,
    padTokenId: 0,
    encode: () => [],
    decode: (ids: readonly number[]) => ids.join(' '),
    applyChatTemplate: () => [],
  };

  it('throws a NonFiniteError naming the logit when the model returns NaN', async () => {
    const stepper = {
      start: async () => Float32Array.from([0, Number.NaN, 1]),
      step: async () => new Float32Array(3),
    };
    const error = await runSamplingLoop({
      request: { prompts: [[1]], groupSize: 1, maxNewTokens: 2, seed: 0 },
      tokenizer,
      vocabSize: 3,
      batchSize: 4,
      createStepper: () => stepper,
    }).catch((caught: unknown) => caught);
    expect(NonFiniteError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/logits\[0\]\[1\]/);
  });

  it('feeds left-padded prompts with positions counted from each prompt start', async () => {
    const inputs: { tokenIds: number[][]; attentionMask: number[][]; positionIds: number[][] }[] =
      [];
    const logits = (rows: number) =>
      Float32Array.from({ length: rows * 3 }, (_, i) => (i % 3 === 2 ? 10 : 0));
    const stepper = {
      start: async (input: (typeof inputs)[number]) => {
        inputs.push(structuredClone(input));
        return logits(input.tokenIds.length);
      },
      step: async (input: (typeof inputs)[number]) => {
        inputs.push(structuredClone(input));
        return logits(input.tokenIds.length);
      },
    };
    const out = await runSamplingLoop({
      request: {
        prompts: [[1, 2, 1], [2]],
        groupSize: 1,
        maxNewTokens: 2,
        seed: 0,
        temperature: 0,
      },
      tokenizer,
      vocabSize: 3,
      batchSize: 4,
      createStepper: () => stepper,
    });
    expect(out.map((c) => c.tokenIds)).toEqual([
      [2, 2],
      [2, 2],
    ]);
    expect(out.map((c) => c.finishReason)).toEqual(['length', 'length']);
    expect(inputs[0]).toEqual({
      tokenIds: [
        [1, 2, 1],
        [0, 0, 2],
      ],
      attentionMask: [
        [1, 1, 1],
        [0, 0, 1],
      ],
      positionIds: [
        [0, 1, 2],
        [0, 0, 0],
      ],
    });
    expect(inputs[1]).toEqual({
      tokenIds: [[2], [2]],
      attentionMask: [
        [1, 1, 1, 1],
        [0, 0, 1, 1],
      ],
      positionIds: [[3], [1]],
    });
    expect(inputs).toHaveLength(2);
  });
});
