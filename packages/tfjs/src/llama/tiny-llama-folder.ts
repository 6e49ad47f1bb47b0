import type { BpeTokenizer } from '../tokenizer/bpe-tokenizer';
import { trainBpeTokenizer } from '../tokenizer/train-bpe-tokenizer';
import { type LlamaConfigInput, parseLlamaConfig } from './llama-config';
import { saveLlamaModel } from './llama-files';
import { createLlamaModel } from './llama-model';
import { randomLlamaWeights } from './reference-llama';

/** Options of {@link writeTinyLlamaFolder}. */
export interface WriteTinyLlamaFolderOptions {
  /** The model's sizes and switches; `vocabSize` is replaced by the tokenizer's. */
  config: Omit<LlamaConfigInput, 'vocabSize'> & { vocabSize?: number };
  /** Seed of the random weights (every parameter random, see `randomLlamaWeights`). */
  seed: number;
  /** Element type of the safetensors. Default `'BF16'`, as checkpoints on the Hub ship. */
  dtype?: 'F32' | 'BF16' | 'F16';
  /** Split into shards of at most this many bytes. Default: one file. */
  maxShardBytes?: number;
  /** Texts the byte-level BPE tokenizer is trained on. Default: a few chat-like lines. */
  texts?: readonly string[];
  /** Tokenizer vocabulary (special tokens, 256 bytes and merges). Default 300. */
  tokenizerVocabSize?: number;
}

const defaultTexts = [
  'hello, how can I help you today?',
  'I would like to change my order please.',
  'pull arm 0 1 2 3 4 and tell me the reward',
  'thank you, goodbye!',
];

/**
 * Writes a tiny random Llama-family model in the exact Hugging Face layout:
 * `config.json`, `model.safetensors` (or shards with an index), and a
 * byte-level BPE `tokenizer.json` / `tokenizer_config.json` with a ChatML chat
 * template (the template of SmolLM2 and Qwen). Test fixtures and benchmarks
 * use it instead of downloading from the Hub.
 *
 * @example
 * ```ts
 * const { tokenizer } = await writeTinyLlamaFolder('tmp/tiny-qwen3', { config: { modelType: 'qwen3', hiddenSize: 32, intermediateSize: 64, layerCount: 2, headCount: 4, keyValueHeadCount: 2 }, seed: 1 });
 * ```
 */
export async function writeTinyLlamaFolder(
  directory: string,
  options: WriteTinyLlamaFolderOptions,
): Promise<{ tokenizer: BpeTokenizer }> {
  const tokenizer = trainBpeTokenizer({
    texts: [...(options.texts ?? defaultTexts)],
    vocabSize: options.tokenizerVocabSize ?? 300,
  });
  const config = parseLlamaConfig({
    ...options.config,
    vocabSize: tokenizer.vocabSize,
    bosTokenId: tokenizer.eosTokenId,
    eosTokenId: tokenizer.eosTokenId,
  });
  const model = createLlamaModel({ config, zeroInitialize: true });
  try {
    model.setWeights(randomLlamaWeights({ config, seed: options.seed }));
    await saveLlamaModel(directory, model, {
      dtype: options.dtype ?? 'BF16',
      extraFiles: tokenizer.toFiles(),
      ...(options.maxShardBytes !== undefined ? { maxShardBytes: options.maxShardBytes } : {}),
    });
  } finally {
    model.dispose();
  }
  return { tokenizer };
}
