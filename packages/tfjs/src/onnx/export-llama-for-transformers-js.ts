import path from 'node:path';
import { InvalidArgumentError, type Tokenizer } from '@cohort/core';
import { writeFileAtomic } from '../atomic-file';
import { llamaConfigToHuggingFace } from '../llama/llama-config';
import type { LlamaModel } from '../llama/llama-model';
import { exportLlamaToOnnx } from './export-llama-to-onnx';
import { generationConfigFor } from './generation-config';

/** Options of {@link exportLlamaForTransformersJs}. */
export interface ExportLlamaForTransformersJsOptions {
  /** The model; LoRA adapters are merged into the exported weights. */
  model: LlamaModel;
  /** Ids of the stop and pad tokens written to `generation_config.json`. */
  tokenizer: Pick<Tokenizer, 'vocabSize' | 'eosTokenId' | 'padTokenId' | 'endOfTurnTokenId'>;
  /** Tokenizer files by name (`tokenizer.json`, `tokenizer_config.json`, ...), copied as they are. */
  tokenizerFiles: Record<string, string>;
}

/**
 * Writes a folder that transformers.js loads with
 * `AutoModelForCausalLM.from_pretrained(id, { dtype: 'fp32' })` for
 * `model_type` llama, qwen2 or qwen3: `config.json` (with `head_dim` and
 * `num_key_value_heads`, which transformers.js reads to shape the cache),
 * `generation_config.json`, the tokenizer files, and `onnx/model.onnx` from
 * {@link exportLlamaToOnnx} with the adapters merged. `config.json` is
 * written last.
 *
 * @example
 * ```ts
 * await exportLlamaForTransformersJs('out/onnx-model', { model, tokenizer, tokenizerFiles });
 * ```
 */
export async function exportLlamaForTransformersJs(
  directory: string,
  options: ExportLlamaForTransformersJsOptions,
): Promise<void> {
  const { model, tokenizer } = options;
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new InvalidArgumentError({
      argument: 'tokenizer.vocabSize',
      value: tokenizer.vocabSize,
      message: `exceeds the model's vocabSize ${model.config.vocabSize}`,
    });
  }
  for (const name of Object.keys(options.tokenizerFiles)) {
    if (
      name !== path.basename(name) ||
      name === 'config.json' ||
      name === 'generation_config.json'
    ) {
      throw new InvalidArgumentError({
        argument: 'tokenizerFiles',
        value: name,
        message: 'must be plain file names other than config.json and generation_config.json',
      });
    }
  }
  const bytes = exportLlamaToOnnx({
    config: model.config,
    weights: model.getWeights({ merged: true }),
  });
  await writeFileAtomic(path.join(directory, 'onnx', 'model.onnx'), bytes);
  for (const [name, text] of Object.entries(options.tokenizerFiles))
    await writeFileAtomic(path.join(directory, name), text);
  await writeFileAtomic(
    path.join(directory, 'generation_config.json'),
    `${JSON.stringify(generationConfigFor(model.config, tokenizer), null, 2)}\n`,
  );
  const config = { ...llamaConfigToHuggingFace(model.config), pad_token_id: tokenizer.padTokenId };
  await writeFileAtomic(
    path.join(directory, 'config.json'),
    `${JSON.stringify(config, null, 2)}\n`,
  );
}
