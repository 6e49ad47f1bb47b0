import {
  checkPolicyConformance,
  checkReferenceModelConformance,
  MockTokenizer,
} from '@cohort/core/test';
import type * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { initializeBackend } from './backend';
import { createGptModel } from './gpt-model';
import { GptPolicy, GptReferenceModel } from './gpt-policy';
import { createLlamaModel } from './llama/llama-model';
import { LlamaPolicy, LlamaReferenceModel } from './llama/llama-policy';
import { UnigramPolicy, UnigramReference } from './unigram-policy';

const tokenizer = new MockTokenizer();
const prompts = [tokenizer.encode('hi'), tokenizer.encode('where is my order?')];
const stopTokenIds = [tokenizer.endOfTurnTokenId];
const toArray = (tensor: tf.Tensor) => tensor.arraySync() as number[][];
const dispose = (tensor: tf.Tensor) => tensor.dispose();
const config = {
  vocabSize: tokenizer.vocabSize,
  contextLength: 64,
  embeddingSize: 16,
  layerCount: 2,
  headCount: 2,
};

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

async function expectedLogProbs(
  policy: GptPolicy | LlamaPolicy | UnigramPolicy,
  sequences: number[][],
) {
  const logProbs = policy.tokenLogProbs({ sequences }).logProbs;
  const rows = toArray(logProbs);
  logProbs.dispose();
  return rows.map((row, index) => row.slice(0, sequences[index]!.length));
}

describe('Policy and ReferenceModel conformance of the tfjs policies', () => {
  const sequences = [prompts[0]!, [...prompts[1]!, 7, 8, 9]];

  /** Both suites on a transformer policy and a reference that should score as it does. */
  async function conformsWith(
    policy: GptPolicy | LlamaPolicy,
    referenceModel: GptReferenceModel | LlamaReferenceModel,
  ) {
    const options = { policy, toArray, dispose, prompts, stopTokenIds, maxNewTokens: 5 };
    await checkPolicyConformance(options);
    const expected = await expectedLogProbs(policy, sequences);
    await checkReferenceModelConformance({ referenceModel, sequences, expected });
  }

  it('UnigramPolicy and UnigramReference conform', async () => {
    const initialLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) => Math.cos(id) * 2);
    const policy = new UnigramPolicy({ tokenizer, initialLogits });
    await checkPolicyConformance({ policy, toArray, dispose, prompts, stopTokenIds });
    await checkReferenceModelConformance({
      referenceModel: new UnigramReference(policy),
      sequences,
      expected: await expectedLogProbs(policy, sequences),
    });
  });

  it('GptPolicy and GptReferenceModel conform', async () => {
    const policy = new GptPolicy({ model: createGptModel({ config, seed: 7 }), tokenizer });
    const referenceModel = new GptReferenceModel({ model: createGptModel({ config, seed: 7 }) });
    await conformsWith(policy, referenceModel);
  });

  it('LlamaPolicy (with LoRA) and LlamaReferenceModel (the base, adapters off) conform', async () => {
    const llamaConfig = {
      modelType: 'qwen2' as const,
      vocabSize: tokenizer.vocabSize,
      hiddenSize: 16,
      intermediateSize: 24,
      layerCount: 2,
      headCount: 4,
      keyValueHeadCount: 2,
      contextLength: 64,
      eosTokenId: tokenizer.eosTokenId,
    };
    const model = createLlamaModel({ config: llamaConfig, seed: 5, lora: { rank: 2 } });
    // LoRA's B starts at 0, so the policy is still its base: the reference's log-probs.
    await conformsWith(new LlamaPolicy({ model, tokenizer }), new LlamaReferenceModel({ model }));
  });
});
