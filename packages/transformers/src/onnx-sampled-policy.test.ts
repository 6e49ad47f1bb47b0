import { fileURLToPath } from 'node:url';
import { checkPolicyConformance } from '@cohort/core/test';
import { createLlamaModel, type GptPolicy, initializeBackend, LlamaPolicy } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxSampledPolicy, type OnnxSampledPolicy } from './onnx-sampled-policy';

const modelDirectory = fileURLToPath(
  new URL('../../../apps/agent-trainer/models/support-agent-tiny', import.meta.url),
);
/** Stated tolerance of the engines' float32 difference on one token's log-probability. */
const logProbTolerance = 1e-4;

let tfjsPolicy: GptPolicy;
let policy: OnnxSampledPolicy;
let prompts: number[][];

/** Largest |logp_onnx - logp_tfjs| of the completions, the tfjs side scored by the policy's tokenLogProbs. */
function largestMismatch(
  scorer: { tokenLogProbs: OnnxSampledPolicy['tokenLogProbs'] },
  completions: Awaited<ReturnType<OnnxSampledPolicy['sample']>>,
  requestPrompts: readonly (readonly number[])[],
): number {
  const sequences = completions.map((completion) => [
    ...(requestPrompts[completion.promptIndex] as number[]),
    ...completion.tokenIds,
  ]);
  const values = tf.tidy(
    () => scorer.tokenLogProbs({ sequences }).logProbs.arraySync() as number[][],
  );
  let max = 0;
  completions.forEach((completion, row) => {
    const start = (sequences[row] as number[]).length - completion.tokenIds.length;
    completion.logProbsPerToken.forEach((logProb, index) => {
      max = Math.max(max, Math.abs(logProb - (values[row]?.[start + index] as number)));
    });
  });
  return max;
}

beforeAll(async () => {
  await initializeBackend({ backend: 'wasm', logger: false });
  ({ policy: tfjsPolicy } = await loadGptPolicy(modelDirectory));
  policy = await createOnnxSampledPolicy({ policy: tfjsPolicy, batchSize: 4 });
  prompts = [
    tfjsPolicy.tokenizer.applyChatTemplate([{ role: 'user', content: 'my order never arrived' }]),
    tfjsPolicy.tokenizer.applyChatTemplate([
      { role: 'user', content: 'I was charged twice for one order' },
    ]),
  ];
});
afterAll(async () => {
  await policy?.dispose();
  tfjsPolicy?.model.dispose();
});

describe('OnnxSampledPolicy', () => {
  it('conforms to the shared Policy suite, its sampled log-probs within the float32 gap of the two engines', async () => {
    await checkPolicyConformance({
      policy,
      toArray: (tensor: tf.Tensor) => tensor.arraySync() as number[][],
      dispose: (tensor: tf.Tensor) => tensor.dispose(),
      prompts,
      maxNewTokens: 8,
      groupSize: 2,
      tolerance: logProbTolerance,
      stopTokenIds: [tfjsPolicy.tokenizer.endOfTurnTokenId ?? tfjsPolicy.tokenizer.eosTokenId],
    });
  });

  it('samples greedily the ids of the tfjs policy it wraps, and is the tfjs policy for everything else', async () => {
    const request = {
      prompts,
      groupSize: 1,
      maxNewTokens: 16,
      seed: 0,
      temperature: 0,
      stopTokenIds: [tfjsPolicy.tokenizer.endOfTurnTokenId ?? tfjsPolicy.tokenizer.eosTokenId],
    };
    const onnx = await policy.sample(request);
    const tfjs = await tfjsPolicy.sample(request);
    expect(onnx.map((completion) => completion.tokenIds)).toEqual(
      tfjs.map((completion) => completion.tokenIds),
    );
    expect(policy.trainableVariables().map((variable) => variable.name)).toEqual(
      tfjsPolicy.trainableVariables().map((variable) => variable.name),
    );
    expect(Object.keys(policy.namedVariables())).toEqual(Object.keys(tfjsPolicy.namedVariables()));
    expect(policy.tokenizer).toBe(tfjsPolicy.tokenizer);
  });

  it('exports again after the version moves or the weights are replaced, and only then', async () => {
    const request = { prompts, groupSize: 3, maxNewTokens: 24, seed: 5, stopTokenIds: [] };
    const exportsBefore = policy.exports;
    await policy.sample(request);
    expect(policy.exports).toBe(exportsBefore);
    expect(policy.samplerVersion).toBe(policy.version);
    const original = tfjsPolicy.getWeights();
    const variable = tfjsPolicy.namedVariables()[
      'transformer.h.1.attn.c_attn.weight'
    ] as tf.Variable;
    try {
      // An optimizer step: the weights change in place and the trainer raises the version.
      variable.assign(tf.add(variable, tf.randomNormal(variable.shape, 0, 0.2, 'float32', 3)));
      policy.version++;
      expect(tfjsPolicy.version).toBe(policy.version);
      const versionBefore = policy.version - 1;
      expect(policy.samplerVersion).toBe(versionBefore);
      const afterStep = await policy.sample(request);
      expect(policy.exports).toBe(exportsBefore + 1);
      expect(policy.samplerVersion).toBe(versionBefore + 1);
      expect(largestMismatch(policy, afterStep, prompts)).toBeLessThan(logProbTolerance);
      // Weights loaded from a checkpoint, at the same version: exported again too.
      // The version a checkpoint restores goes with its weights, as the trainer's resume does.
      policy.setWeights(original);
      policy.version = 7;
      expect(policy.samplerVersion).toBe(versionBefore + 1);
      const afterLoad = await policy.sample(request);
      expect(policy.exports).toBe(exportsBefore + 2);
      expect(policy.samplerVersion).toBe(7);
      expect(largestMismatch(policy, afterLoad, prompts)).toBeLessThan(logProbTolerance);
    } finally {
      tfjsPolicy.setWeights(original);
      policy.version = 0;
    }
  });

  it("reuses the last call's keys and values by default, and not with reusePrefixes false", async () => {
    const plain = await createOnnxSampledPolicy({ policy: tfjsPolicy, reusePrefixes: false });
    try {
      const request = { groupSize: 1, maxNewTokens: 6, seed: 3, temperature: 0 };
      for (const sampled of [policy, plain]) {
        const first = await sampled.sample({ ...request, prompts });
        const before = sampled.sampler.prefixCacheStats;
        await sampled.sample({
          ...request,
          prompts: first.map((completion) => [
            ...(prompts[completion.promptIndex] as number[]),
            ...completion.tokenIds,
            ...(prompts[0] as number[]),
          ]),
        });
        const hits = sampled.sampler.prefixCacheStats.hits - before.hits;
        expect(hits).toBe(sampled === policy ? prompts.length : 0);
      }
      expect(plain.sampler.prefixCacheStats.misses).toBe(0);
    } finally {
      await plain.dispose();
    }
  });

  it('samples a Llama-family policy with LoRA adapters merged at export', async () => {
    const model = createLlamaModel({
      config: {
        vocabSize: tfjsPolicy.tokenizer.vocabSize,
        hiddenSize: 32,
        intermediateSize: 48,
        layerCount: 2,
        headCount: 4,
        keyValueHeadCount: 2,
        contextLength: 128,
        eosTokenId: tfjsPolicy.tokenizer.eosTokenId,
      },
      lora: { rank: 4, alpha: 8 },
      seed: 3,
    });
    // Non-zero adapters, so the merge matters.
    for (const [name, variable] of Object.entries(model.namedVariables())) {
      if (name.includes('lora_B'))
        variable.assign(tf.randomNormal(variable.shape, 0, 0.2, 'float32', 9));
    }
    const llama = new LlamaPolicy({ model, tokenizer: tfjsPolicy.tokenizer });
    const sampled = await createOnnxSampledPolicy({ policy: llama });
    try {
      const request = { prompts, groupSize: 2, maxNewTokens: 12, seed: 1, stopTokenIds: [] };
      const completions = await sampled.sample(request);
      expect(completions).toHaveLength(4);
      expect(largestMismatch(llama, completions, prompts)).toBeLessThan(logProbTolerance);
      const greedy = { ...request, groupSize: 1, temperature: 0 };
      expect((await sampled.sample(greedy)).map((completion) => completion.tokenIds)).toEqual(
        (await llama.sample(greedy)).map((completion) => completion.tokenIds),
      );
    } finally {
      await sampled.dispose();
      model.dispose();
    }
  });
});
