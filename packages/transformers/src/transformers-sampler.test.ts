import { InvalidArgumentError } from '@cohort/core';
import { referenceGpt2Logits } from '@cohort/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedCausalLm, loadCausalLm } from './load-causal-lm';
import { makeTinyModel, type TinyModel } from './test-support/tiny-model';
import { TransformersReferenceModel } from './transformers-reference-model';
import { TransformersSampler } from './transformers-sampler';

let tiny: TinyModel;
let loaded: LoadedCausalLm;
let sampler: TransformersSampler;
let eosTiny: TinyModel;
let eosSampler: TransformersSampler;

beforeAll(async () => {
  tiny = await makeTinyModel({ seed: 3 });
  loaded = await loadCausalLm({ model: tiny.directory });
  sampler = new TransformersSampler({
    model: loaded.model,
    tokenizer: loaded.tokenizer,
    batchSize: 3,
  });
  eosTiny = await makeTinyModel({ seed: 4, eosBias: 3 });
  const eosLoaded = await loadCausalLm({ model: eosTiny.directory });
  eosSampler = new TransformersSampler({ model: eosLoaded.model, tokenizer: eosLoaded.tokenizer });
});
afterAll(async () => {
  await tiny?.cleanup();
  await eosTiny?.cleanup();
});

/** Independent float64 log-softmax of the reference GPT-2 forward (written apart from the package's). */
function referenceLogProb(sequence: number[], t: number, temperature: number): number {
  const vocab = tiny.config.vocabSize;
  const logits = referenceGpt2Logits({
    config: tiny.config,
    weights: tiny.weights,
    tokenIds: sequence.slice(0, t),
  });
  const row = Array.from(
    logits.subarray((t - 1) * vocab, t * vocab),
    (value) => value / temperature,
  );
  const top = Math.max(...row);
  const logSum = top + Math.log(row.reduce((sum, value) => sum + Math.exp(value - top), 0));
  return (row[sequence[t] as number] as number) - logSum;
}

describe('TransformersSampler', () => {
  const prompts = () => [
    loaded.tokenizer.encode('hello there'),
    loaded.tokenizer.encode('the cat sat on the mat, my order'),
  ];

  it('is reproducible with a seed, orders prompt-major, and differs across seeds', async () => {
    const request = { prompts: prompts(), groupSize: 3, maxNewTokens: 6, seed: 11 };
    const first = await sampler.sample(request);
    const second = await sampler.sample(request);
    expect(second).toEqual(first);
    expect(first.map((c) => [c.promptIndex, c.sampleIndex])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
      [1, 2],
    ]);
    const other = await sampler.sample({ ...request, seed: 12 });
    expect(other.map((c) => c.tokenIds)).not.toEqual(first.map((c) => c.tokenIds));
    // Batching does not change a completion: each has its own random stream.
    const alone = await new TransformersSampler({
      model: loaded.model,
      tokenizer: loaded.tokenizer,
      batchSize: 1,
    }).sample(request);
    expect(alone.map((c) => c.tokenIds)).toEqual(first.map((c) => c.tokenIds));
  });

  it('reports log-probs that match a separate forward pass and an independent float64 GPT-2', async () => {
    const temperature = 0.7;
    const completions = await sampler.sample({
      prompts: prompts(),
      groupSize: 2,
      maxNewTokens: 5,
      seed: 3,
      temperature,
    });
    const reference = new TransformersReferenceModel({
      model: loaded.model,
      padTokenId: loaded.tokenizer.padTokenId,
    });
    const sequences = completions.map((c) => [
      ...(prompts()[c.promptIndex] as number[]),
      ...c.tokenIds,
    ]);
    const scored = await reference.referenceLogProbs({ sequences, temperature });
    completions.forEach((completion, index) => {
      const promptLength = (prompts()[completion.promptIndex] as number[]).length;
      const sequence = sequences[index] as number[];
      expect(scored[index]).toHaveLength(sequence.length);
      expect(scored[index]?.[0]).toBe(0);
      completion.logProbsPerToken.forEach((logProb, k) => {
        expect(logProb).toBeLessThanOrEqual(0);
        expect(scored[index]?.[promptLength + k]).toBeCloseTo(logProb, 4);
        expect(referenceLogProb(sequence, promptLength + k, temperature)).toBeCloseTo(logProb, 4);
      });
    });
  });

  it('greedy (temperature 0) takes the argmax and reports its log-prob at temperature 1', async () => {
    const [completion] = await sampler.sample({
      prompts: [prompts()[0] as number[]],
      groupSize: 1,
      maxNewTokens: 4,
      seed: 0,
      temperature: 0,
    });
    const sequence = [...(prompts()[0] as number[])];
    const vocab = tiny.config.vocabSize;
    for (const [k, token] of (completion?.tokenIds ?? []).entries()) {
      const logits = referenceGpt2Logits({
        config: tiny.config,
        weights: tiny.weights,
        tokenIds: sequence,
      });
      const row = Array.from(logits.subarray((sequence.length - 1) * vocab));
      expect(token).toBe(row.indexOf(Math.max(...row)));
      sequence.push(token);
      expect(completion?.logProbsPerToken[k]).toBeCloseTo(
        referenceLogProb(sequence, sequence.length - 1, 1),
        4,
      );
    }
  });

  it('top-k keeps only the k most likely tokens while reporting full-distribution log-probs', async () => {
    const prompt = prompts()[0] as number[];
    const completions = await sampler.sample({
      prompts: [prompt],
      groupSize: 24,
      maxNewTokens: 1,
      seed: 5,
      topK: 2,
    });
    const vocab = tiny.config.vocabSize;
    const row = Array.from(
      referenceGpt2Logits({
        config: tiny.config,
        weights: tiny.weights,
        tokenIds: prompt,
      }).subarray((prompt.length - 1) * vocab),
    );
    const topTwo = row
      .map((value, id) => [value, id] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 2)
      .map(([, id]) => id);
    const seen = new Set(completions.map((c) => c.tokenIds[0]));
    for (const id of seen) expect(topTwo).toContain(id);
    expect(seen.size).toBe(2);
    for (const c of completions)
      expect(c.logProbsPerToken[0]).toBeCloseTo(
        referenceLogProb([...prompt, c.tokenIds[0] as number], prompt.length, 1),
        4,
      );
  });

  it('stops on EOS, on a stop id, on a stop string and at the length limit, keeping the ending id', async () => {
    const prompt = eosSampler.tokenizer.encode('hello');
    const eos = await eosSampler.sample({
      prompts: [prompt],
      groupSize: 4,
      maxNewTokens: 12,
      seed: 1,
    });
    expect(eos.some((c) => c.finishReason === 'eos')).toBe(true);
    for (const c of eos.filter((c) => c.finishReason === 'eos'))
      expect(c.tokenIds.at(-1)).toBe(eosSampler.tokenizer.eosTokenId);
    const free = await sampler.sample({
      prompts: [prompts()[0] as number[]],
      groupSize: 2,
      maxNewTokens: 5,
      seed: 2,
    });
    const firstToken = free[0]?.tokenIds[0] as number;
    const stopped = await sampler.sample({
      prompts: [prompts()[0] as number[]],
      groupSize: 2,
      maxNewTokens: 5,
      seed: 2,
      stopTokenIds: [firstToken],
    });
    expect(stopped[0]?.tokenIds).toEqual([firstToken]);
    expect(stopped[0]?.finishReason).toBe('stop');
    const text = sampler.tokenizer.decode(free[0]?.tokenIds.slice(0, 2) ?? []);
    const byString = await sampler.sample({
      prompts: [prompts()[0] as number[]],
      groupSize: 1,
      maxNewTokens: 5,
      seed: 2,
      stopStrings: [text],
    });
    expect(byString[0]?.finishReason).toBe('stop');
    expect(byString[0]?.tokenIds.length).toBeLessThanOrEqual(2);
    const long = free.filter((c) => c.finishReason === 'length');
    for (const c of long) expect(c.tokenIds).toHaveLength(5);
  });

  it('refuses bad requests, naming the field', async () => {
    await expect(
      sampler.sample({ prompts: [[]], groupSize: 1, maxNewTokens: 2, seed: 0 }),
    ).rejects.toThrow(/prompts\[0\]/);
    await expect(
      sampler.sample({ prompts: [[1]], groupSize: 0, maxNewTokens: 2, seed: 0 }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      sampler.sample({ prompts: [[99999]], groupSize: 1, maxNewTokens: 2, seed: 0 }),
    ).rejects.toThrow(/prompts\[0\]\[0\] = 99999/);
    await expect(
      sampler.sample({ prompts: [[1]], groupSize: 1, maxNewTokens: 2, seed: 0, temperature: -1 }),
    ).rejects.toThrow(/temperature/);
    await expect(
      sampler.sample({ prompts: [new Array(60).fill(5)], groupSize: 1, maxNewTokens: 10, seed: 0 }),
    ).rejects.toThrow(/64 positions/);
    expect(await sampler.sample({ prompts: [], groupSize: 2, maxNewTokens: 2, seed: 0 })).toEqual(
      [],
    );
    await expect(
      sampler.sample({ prompts: [[1]], groupSize: 1, maxNewTokens: 2, seed: 0 }),
    ).resolves.toHaveLength(1);
  });
});
