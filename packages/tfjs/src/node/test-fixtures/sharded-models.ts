/**
 * Models and a minibatch shared by the sharded-learner tests: a GPT with
 * non-zero biases and layer-norm gains other than 1, a LoRA Llama (Qwen2
 * biases) with random base weights and non-zero adapters, and five
 * sequences of 12-20 tokens with advantages of both signs.
 */
import * as tf from '@tensorflow/tfjs';
import { createGptModel, type GptModel } from '../../gpt-model';
import { createLlamaModel, type LlamaModel } from '../../llama/llama-model';
import { randomLlamaWeights } from '../../llama/reference-llama';
import { randomGpt2Weights } from '../../reference-gpt2';
import type { WeightedItem, WeightedShared } from './weighted-nll-loss';

export const config = {
  vocabSize: 40,
  contextLength: 24,
  embeddingSize: 16,
  layerCount: 2,
  headCount: 2,
};
export const lossModule = new URL('./weighted-nll-loss.ts', import.meta.url).href;
// Lengths differ (padding) and reach 20 tokens (position effects); advantages of both signs.
export const items: WeightedItem[] = Array.from({ length: 5 }, (_, index) => ({
  tokenIds: Array.from({ length: 12 + index * 2 }, (_, t) => (index * 7 + t * 3 + 1) % 40),
  advantage: index % 2 === 0 ? 1 - index * 0.2 : -0.7,
}));
export const tokenCount = items.reduce((sum, item) => sum + item.tokenIds.length - 1, 0);
export const shared: WeightedShared = { tokenCount };

export function freshModel(): GptModel {
  const model = createGptModel({ config, seed: 2 });
  // Non-zero biases and layer-norm gains other than 1, so every parameter matters.
  model.setWeights(randomGpt2Weights({ config, seed: 9, scale: 0.3 }));
  return model;
}

export const llamaConfig = {
  modelType: 'qwen2' as const,
  vocabSize: 40,
  hiddenSize: 16,
  intermediateSize: 24,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 2,
  contextLength: 32,
  eosTokenId: 1,
  bosTokenId: 0,
};
export const lora = { rank: 2, alpha: 4, targets: ['q_proj', 'v_proj', 'down_proj'] as const };

/** A LoRA model with random base weights (biases, norm weights other than 1) and non-zero adapters. */
export function freshLlama(): LlamaModel {
  const model = createLlamaModel({
    config: llamaConfig,
    lora: { ...lora, targets: [...lora.targets] },
    seed: 4,
  });
  model.setWeights(randomLlamaWeights({ config: model.config, seed: 6, scale: 0.3 }));
  for (const [name, variable] of Object.entries(model.namedVariables())) {
    if (name.includes('lora_B'))
      variable.assign(tf.randomNormal(variable.shape, 0, 0.2, 'float32', 8));
  }
  return model;
}
