import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type BpeTokenizer,
  type Gpt2Config,
  parseGpt2Config,
  randomGpt2Weights,
  trainBpeTokenizer,
  type WeightMap,
} from '@cohort/tfjs';
import { exportForTransformersJs } from '@cohort/tfjs/node';

/** Texts the tiny tokenizer is trained on. */
export const tinyCorpus = [
  'the cat sat on the mat',
  'hello there, how are you today?',
  'I am fine, thank you. And you?',
  'my order has not arrived, can you help me?',
  'I will refund your order right away',
  'yes no maybe',
];

/** A tiny GPT-2 exported for transformers.js into a temp folder; `cleanup` removes it. */
export interface TinyModel {
  directory: string;
  config: Gpt2Config;
  weights: WeightMap;
  tokenizer: BpeTokenizer;
  cleanup(): Promise<void>;
}

/**
 * Makes and exports a tiny GPT-2 (random weights, scaled by `weightScale` so
 * the distributions are far from uniform). With `eosBias > 0` the final layer
 * norm's bias points along the EOS embedding, so EOS becomes likely.
 */
export async function makeTinyModel(
  options: { seed?: number; weightScale?: number; eosBias?: number; contextLength?: number } = {},
): Promise<TinyModel> {
  const tokenizer = trainBpeTokenizer({ texts: tinyCorpus, vocabSize: 300 });
  const config = parseGpt2Config({
    vocabSize: tokenizer.vocabSize,
    contextLength: options.contextLength ?? 64,
    embeddingSize: 32,
    layerCount: 2,
    headCount: 2,
    eosTokenId: tokenizer.eosTokenId,
    bosTokenId: tokenizer.eosTokenId,
  });
  const weights = randomGpt2Weights({ config, seed: options.seed ?? 3 });
  const scale = options.weightScale ?? 1;
  const embedding = weights['transformer.wte.weight'];
  if (embedding && scale !== 1) {
    embedding.data = Float32Array.from(embedding.data, (value) => value * scale);
  }
  const eosBias = options.eosBias ?? 0;
  if (embedding && eosBias > 0) {
    const width = config.embeddingSize;
    const row = embedding.data.subarray(config.eosTokenId * width, (config.eosTokenId + 1) * width);
    let norm = 0;
    for (const value of row) norm += value * value;
    norm = Math.sqrt(norm);
    weights['transformer.ln_f.bias'] = {
      shape: [width],
      data: Float32Array.from(row, (value) => (eosBias * value) / norm),
    };
  }
  const root = await mkdtemp(path.join(tmpdir(), 'cohort-transformers-'));
  const directory = path.join(root, 'tiny-gpt2');
  await exportForTransformersJs(directory, { config, weights, tokenizer });
  return {
    directory,
    config,
    weights,
    tokenizer,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
