import { checkPolicyConformance, checkReferenceModelConformance } from '@cohort/core/test';
import { initializeBackend } from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { loadCausalLm } from './load-causal-lm';
import { ProxyReferenceModel } from './proxy-reference-model';
import { createProxyTunedPolicy } from './proxy-tuned-policy';
import { makeTinyModel, type TinyModel } from './test-support/tiny-model';

let tiny: TinyModel;

beforeAll(async () => {
  await initializeBackend({ backend: 'wasm', logger: false });
  tiny = await makeTinyModel({ seed: 5 });
});
afterAll(async () => tiny?.cleanup());

describe('Policy and ReferenceModel conformance of the proxy-tuned policy', () => {
  it('ProxyTunedPolicy and ProxyReferenceModel conform', async () => {
    const loaded = await loadCausalLm({ model: tiny.directory });
    const policy = await createProxyTunedPolicy({
      base: loaded.model,
      tokenizer: loaded.tokenizer,
      delta: { embeddingSize: 16, layerCount: 1, headCount: 2 },
      seed: 3,
    });
    const prompts = [
      loaded.tokenizer.encode('hello'),
      loaded.tokenizer.encode('the order is late'),
    ];
    await checkPolicyConformance({
      policy,
      toArray: (tensor: tf.Tensor) => tensor.arraySync() as number[][],
      dispose: (tensor: tf.Tensor) => tensor.dispose(),
      prepare: (sequences) => policy.prepare({ sequences }),
      prompts,
      maxNewTokens: 4,
      groupSize: 2,
    });
    // The reference is the frozen base: with delta at zero it equals the policy.
    const sequences = prompts.map((prompt) => [...prompt, ...prompt.slice(0, 2)]);
    await policy.prepare({ sequences });
    const logProbs = policy.tokenLogProbs({ sequences }).logProbs;
    const expected = (logProbs.arraySync() as number[][]).map((row, index) =>
      row.slice(0, sequences[index]!.length),
    );
    logProbs.dispose();
    await checkReferenceModelConformance({
      referenceModel: new ProxyReferenceModel({ policy }),
      sequences,
      expected,
    });
  });
});
