import type { Message } from '@cohort/core';
import {
  type BpeTokenizer,
  createLlamaModel,
  type LlamaModel,
  parseLlamaConfig,
  trainBpeTokenizer,
} from '@cohort/tfjs';

/**
 * A BPE tokenizer trained on `dialogues` (300 tokens, one token per digit)
 * and a random 2-layer Llama over it (seed 4, context 2048): a small model
 * to score rendered tool-agent dialogues with.
 */
export function smallDialogueModel(dialogues: readonly (readonly Message[])[]): {
  tokenizer: BpeTokenizer;
  model: LlamaModel;
} {
  const tokenizer = trainBpeTokenizer({
    texts: dialogues.flatMap((dialogue) => dialogue.map((message) => message.content)),
    vocabSize: 300,
    individualDigits: true,
  });
  const model = createLlamaModel({
    config: parseLlamaConfig({
      modelType: 'llama',
      vocabSize: tokenizer.vocabSize,
      hiddenSize: 16,
      intermediateSize: 40,
      layerCount: 2,
      headCount: 4,
      keyValueHeadCount: 2,
      contextLength: 2048,
      tieWordEmbeddings: true,
      bosTokenId: tokenizer.eosTokenId,
      eosTokenId: tokenizer.eosTokenId,
    }),
    seed: 4,
  });
  return { tokenizer, model };
}
