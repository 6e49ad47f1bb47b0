import type * as tf from '@tensorflow/tfjs';
import type { GptForwardOptions, GptForwardResult } from './gpt-model';

/**
 * What {@link generate} and {@link tokenLogProbs} need of a model: its
 * vocabulary and context sizes, its end-of-sequence id, and a forward pass
 * with a key/value cache, position ids and a padding mask. `GptModel` and
 * `LlamaModel` (and a Llama model's adapters-off view) implement it.
 */
export interface CausalLanguageModel {
  readonly config: {
    readonly vocabSize: number;
    readonly contextLength: number;
    readonly eosTokenId: number;
  };
  forward(
    tokenIds: readonly (readonly number[])[] | tf.Tensor2D,
    options?: GptForwardOptions,
  ): GptForwardResult;
}
