import { fileURLToPath } from 'node:url';
import { createLlamaModel, type GptPolicy, initializeBackend } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultIntraOpThreads } from './onnx-decoder-session';
import { createOnnxGptSampler, OnnxGptSampler } from './onnx-gpt-sampler';
import { OnnxReferenceModel } from './onnx-reference-model';

// The shipped, trained model: real weights, real tokenizer and chat template.
const modelDirectory = fileURLToPath(
  new URL('../../../apps/agent-trainer/models/support-agent-tiny', import.meta.url),
);
/** Stated tolerance of the engines' float32 difference on one token's log-probability. */
const logProbTolerance = 1e-4;

let policy: GptPolicy;
let sampler: OnnxGptSampler;
let prompts: number[][];

beforeAll(async () => {
  await initializeBackend({ backend: 'wasm', logger: false });
  ({ policy } = await loadGptPolicy(modelDirectory));
  sampler = await createOnnxGptSampler({
    model: policy.model,
    tokenizer: policy.tokenizer,
    batchSize: 3,
  });
  prompts = [
    policy.tokenizer.applyChatTemplate([{ role: 'user', content: 'my order never arrived' }]),
    policy.tokenizer.applyChatTemplate([
      { role: 'system', content: 'You are a support agent.' },
      { role: 'user', content: 'how do I reset my password?' },
    ]),
  ];
});
afterAll(async () => {
  await sampler?.dispose();
  policy?.model.dispose();
});

describe('OnnxGptSampler', () => {
  it('samples greedily the same ids as the tfjs policy, with log-probs within the tolerance', async () => {
    const request = {
      prompts,
      groupSize: 1,
      maxNewTokens: 16,
      seed: 0,
      temperature: 0,
      stopTokenIds: [policy.tokenizer.endOfTurnTokenId ?? policy.tokenizer.eosTokenId],
    };
    const onnx = await sampler.sample(request);
    const tfjs = await policy.sample(request);
    expect(onnx.map((completion) => completion.tokenIds)).toEqual(
      tfjs.map((completion) => completion.tokenIds),
    );
    expect(onnx.map((completion) => completion.finishReason)).toEqual(
      tfjs.map((completion) => completion.finishReason),
    );
    onnx.forEach((completion, row) => {
      completion.logProbsPerToken.forEach((logProb, index) => {
        const expected = tfjs[row]?.logProbsPerToken[index] as number;
        expect(Math.abs(logProb - expected)).toBeLessThan(logProbTolerance);
      });
    });
  });

  it('keeps the sampled ids, stops at the stop token, and measures the log-prob mismatch', async () => {
    const stop = policy.tokenizer.endOfTurnTokenId ?? policy.tokenizer.eosTokenId;
    const request = {
      prompts,
      groupSize: 4,
      maxNewTokens: 40,
      seed: 7,
      temperature: 1,
      stopTokenIds: [stop],
    };
    const completions = await sampler.sample(request);
    expect(completions).toHaveLength(8);
    for (const completion of completions) {
      if (completion.finishReason === 'stop') expect(completion.tokenIds.at(-1)).toBe(stop);
      else expect(completion.tokenIds).toHaveLength(40);
      expect(completion.tokenIds.slice(0, -1)).not.toContain(stop);
    }
    // The shipped agent ends its turns: some completion must stop before the limit.
    expect(completions.some((completion) => completion.finishReason === 'stop')).toBe(true);
    const mismatch = sampler.logProbMismatch({ prompts, completions, temperature: 1 });
    expect(mismatch.tokenCount).toBe(
      completions.reduce((sum, completion) => sum + completion.tokenIds.length, 0),
    );
    expect(mismatch.max).toBeLessThan(logProbTolerance);
    expect(mismatch.mean).toBeLessThanOrEqual(mismatch.max);
    // Same seed, same ids: sampling is reproducible.
    const again = await sampler.sample(request);
    expect(again.map((completion) => completion.tokenIds)).toEqual(
      completions.map((completion) => completion.tokenIds),
    );
  });

  it('samples the refreshed version: a weight change shows as mismatch until refresh()', async () => {
    const variable = policy.model.namedVariables()[
      'transformer.h.0.mlp.c_fc.weight'
    ] as tf.Variable;
    const original = variable.clone();
    const request = { prompts, groupSize: 2, maxNewTokens: 12, seed: 3, stopTokenIds: [] };
    try {
      variable.assign(variable.add(tf.randomNormal(variable.shape, 0, 0.3, 'float32', 1)));
      const stale = await sampler.sample(request);
      expect(sampler.logProbMismatch({ prompts, completions: stale }).max).toBeGreaterThan(1e-2);
      const versionBefore = sampler.version;
      await sampler.refresh();
      expect(sampler.version).toBe(versionBefore + 1);
      expect(sampler.lastRefreshSeconds).toBeGreaterThan(0);
      const fresh = await sampler.sample(request);
      expect(sampler.logProbMismatch({ prompts, completions: fresh }).max).toBeLessThan(
        logProbTolerance,
      );
    } finally {
      variable.assign(original);
      original.dispose();
      await sampler.refresh();
    }
  });

  it('refuses to sample before a refresh and names a bad batch size', async () => {
    const unrefreshed = new OnnxGptSampler({ model: policy.model, tokenizer: policy.tokenizer });
    await expect(
      unrefreshed.sample({ prompts, groupSize: 1, maxNewTokens: 2, seed: 0 }),
    ).rejects.toThrow(/refresh\(\)/);
    expect(
      () => new OnnxGptSampler({ model: policy.model, tokenizer: policy.tokenizer, batchSize: 0 }),
    ).toThrow(/batchSize/);
  });

  it('samples the same greedy ids on 1 thread, 2 threads and ONNX Runtime default threads', async () => {
    // The shipped 0.56M model gets one thread unless told otherwise.
    expect(sampler.intraOpNumThreads).toBe(1);
    const request = {
      prompts,
      groupSize: 1,
      maxNewTokens: 24,
      seed: 0,
      temperature: 0,
    };
    const reference = await sampler.sample(request);
    for (const intraOpNumThreads of [0, 2]) {
      const threaded = await createOnnxGptSampler({
        model: policy.model,
        tokenizer: policy.tokenizer,
        intraOpNumThreads,
      });
      expect(threaded.intraOpNumThreads).toBe(intraOpNumThreads);
      const completions = await threaded.sample(request);
      await threaded.dispose();
      expect(completions.map((completion) => completion.tokenIds)).toEqual(
        reference.map((completion) => completion.tokenIds),
      );
      completions.forEach((completion, row) => {
        completion.logProbsPerToken.forEach((logProb, index) => {
          const expected = reference[row]?.logProbsPerToken[index] as number;
          expect(Math.abs(logProb - expected)).toBeLessThan(1e-5);
        });
      });
    }
  });

  it('gives small models one thread and larger ones ONNX Runtime default, and names a bad count', () => {
    const llama = (hiddenSize: number, layerCount: number) =>
      createLlamaModel({
        config: {
          vocabSize: 1024,
          hiddenSize,
          intermediateSize: 3 * hiddenSize,
          layerCount,
          headCount: 4,
          keyValueHeadCount: 2,
          contextLength: 256,
          tieWordEmbeddings: true,
        },
        zeroInitialize: true,
      });
    // 0.56M: one thread for both. 3.2M: one for sampling, the default for scoring. 11M: the default.
    const middle = llama(256, 4);
    const large = llama(384, 6);
    try {
      expect(middle.parameterCount().base).toBeGreaterThan(1e6);
      expect(middle.parameterCount().base).toBeLessThan(5e6);
      expect(large.parameterCount().base).toBeGreaterThan(5e6);
      expect(defaultIntraOpThreads(policy.model, 'sampler')).toBe(1);
      expect(defaultIntraOpThreads(policy.model, 'reference')).toBe(1);
      expect(defaultIntraOpThreads(middle, 'sampler')).toBe(1);
      expect(defaultIntraOpThreads(middle, 'reference')).toBe(0);
      expect(defaultIntraOpThreads(large, 'sampler')).toBe(0);
      expect(new OnnxReferenceModel({ model: middle }).intraOpNumThreads).toBe(0);
      expect(
        new OnnxGptSampler({ model: large, tokenizer: policy.tokenizer }).intraOpNumThreads,
      ).toBe(0);
    } finally {
      middle.dispose();
      large.dispose();
    }
    for (const bad of [-1, 1.5]) {
      expect(
        () =>
          new OnnxGptSampler({
            model: policy.model,
            tokenizer: policy.tokenizer,
            intraOpNumThreads: bad,
          }),
      ).toThrow(new RegExp(`intraOpNumThreads.*${bad}|${bad}.*intraOpNumThreads`));
      expect(() => new OnnxReferenceModel({ model: policy.model, intraOpNumThreads: bad })).toThrow(
        /intraOpNumThreads/,
      );
    }
  });

  it.each(['gpt2', 'llama'] as const)(
    '%s: a later call starts from the cached keys and values of the last call and samples what a full prefill samples',
    async (family) => {
      const model =
        family === 'gpt2'
          ? policy.model
          : createLlamaModel({
              config: {
                vocabSize: 1024,
                hiddenSize: 32,
                intermediateSize: 48,
                layerCount: 2,
                headCount: 4,
                keyValueHeadCount: 2,
                contextLength: 256,
                ropeTheta: 100,
                tieWordEmbeddings: false,
                queryKeyValueBias: true,
              },
              seed: 9,
            });
      const options = { model, tokenizer: policy.tokenizer, batchSize: 2 };
      const cached = await createOnnxGptSampler(options);
      const fresh = await createOnnxGptSampler({ ...options, reusePrefixes: false });
      expect(fresh.prefixCacheStats).toEqual({
        hits: 0,
        misses: 0,
        reusedTokens: 0,
        prefilledTokens: 0,
      });
      try {
        const greedy = { groupSize: 1, maxNewTokens: 12, seed: 0, temperature: 0 };
        const first = await cached.sample({ ...greedy, prompts });
        expect(cached.prefixCacheStats.misses).toBe(prompts.length);
        // The keys and values of a row's last sampled token never existed; the others' did.
        const longest = Math.max(...first.map((completion) => completion.tokenIds.length));
        const reusable = first.map(
          (completion) =>
            (prompts[completion.promptIndex] as number[]).length +
            completion.tokenIds.length -
            (completion.tokenIds.length === longest ? 1 : 0),
        );
        // The next turn: each conversation with its reply and an observation, and a new prompt.
        const observation = policy.tokenizer.applyChatTemplate([
          { role: 'user', content: 'thanks, and the order number is A5760' },
        ]);
        const [nextA, nextB] = first.map((completion) => [
          ...(prompts[completion.promptIndex] as number[]),
          ...completion.tokenIds,
          ...observation,
        ]) as [number[], number[]];
        // In batches of 2: a hit beside a miss, then a hit alone.
        const next = [
          nextA,
          policy.tokenizer.applyChatTemplate([{ role: 'user', content: 'where is my parcel?' }]),
          nextB,
        ];
        const before = cached.prefixCacheStats;
        const withCache = await cached.sample({ ...greedy, prompts: next });
        const withoutCache = await fresh.sample({ ...greedy, prompts: next });
        const after = cached.prefixCacheStats;
        expect(after.hits - before.hits).toBe(first.length);
        expect(after.misses - before.misses).toBe(1);
        expect(after.reusedTokens - before.reusedTokens).toBe(
          reusable.reduce((sum, length) => sum + length, 0),
        );
        expect(after.prefilledTokens - before.prefilledTokens).toBe(
          next.reduce((sum, prompt) => sum + prompt.length, 0) -
            reusable.reduce((sum, length) => sum + length, 0),
        );
        expect(withCache.map((completion) => completion.tokenIds)).toEqual(
          withoutCache.map((completion) => completion.tokenIds),
        );
        withCache.forEach((completion, row) => {
          completion.logProbsPerToken.forEach((logProb, index) => {
            const expected = withoutCache[row]?.logProbsPerToken[index] as number;
            expect(Math.abs(logProb - expected)).toBeLessThan(1e-5);
          });
        });
        // New weights: the cached keys and values are dropped, so nothing is reused.
        await cached.refresh();
        const refreshed = cached.prefixCacheStats;
        await cached.sample({ ...greedy, prompts: next });
        expect(cached.prefixCacheStats.hits).toBe(refreshed.hits);
      } finally {
        await cached.dispose();
        await fresh.dispose();
        if (family === 'llama') model.dispose();
      }
    },
  );
});
