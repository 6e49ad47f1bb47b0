import { createGptModel } from './gpt-model';
import { GptPolicy, GptReferenceModel } from './gpt-policy';
import { loadHuggingFaceModel } from './safetensors-files';
import type { BpeTokenizer } from './tokenizer/bpe-tokenizer';
import { loadBpeTokenizer } from './tokenizer/bpe-tokenizer-files';

/**
 * Loads a GPT-2 chat model from a Hugging Face folder (`config.json`,
 * `model.safetensors`, `tokenizer.json`) as a trainable {@link GptPolicy} and
 * a frozen copy of the same weights as its {@link GptReferenceModel}.
 *
 * @example
 * ```ts
 * const { policy, referenceModel } = await loadGptPolicy('apps/agent-trainer/models/support-agent-tiny');
 * ```
 */
export async function loadGptPolicy(directory: string): Promise<{
  policy: GptPolicy;
  referenceModel: GptReferenceModel;
  tokenizer: BpeTokenizer;
}> {
  const { config, weights } = await loadHuggingFaceModel(directory);
  const tokenizer = await loadBpeTokenizer(directory);
  const model = createGptModel({ config });
  model.setWeights(weights);
  const reference = createGptModel({ config });
  reference.setWeights(weights);
  return {
    policy: new GptPolicy({ model, tokenizer }),
    referenceModel: new GptReferenceModel({ model: reference, padTokenId: tokenizer.padTokenId }),
    tokenizer,
  };
}
