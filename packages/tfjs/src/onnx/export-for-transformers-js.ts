import path from 'node:path';
import { InvalidArgumentError, type Tokenizer } from '@cohort/core';
import { writeFileAtomic } from '../atomic-file';
import { type Gpt2ConfigInput, gpt2ConfigToHuggingFace, parseGpt2Config } from '../gpt2-config';
import type { WeightMap } from '../weights';
import { exportGpt2ToOnnx } from './export-gpt2-to-onnx';
import { generationConfigFor } from './generation-config';

/** A tokenizer that can write its transformers.js files (such as `BpeTokenizer`). */
export interface ExportableTokenizer extends Tokenizer {
  /** File texts by file name (`tokenizer.json`, `tokenizer_config.json`, ...). */
  toFiles(): Record<string, string>;
}

/** Options of {@link exportForTransformersJs}. */
export interface ExportForTransformersJsOptions {
  config: Gpt2ConfigInput;
  weights: WeightMap;
  tokenizer: ExportableTokenizer;
}

/**
 * Writes a model folder that transformers.js loads with
 * `AutoModelForCausalLM.from_pretrained(id, { dtype: 'fp32' })` and
 * `AutoTokenizer.from_pretrained(id)`: `config.json`, `generation_config.json`
 * (end of text and end of turn both stop generation; the tokenizer's pad id),
 * the tokenizer files, and `onnx/model.onnx` from {@link exportGpt2ToOnnx}.
 * Every file is written atomically; `config.json` last.
 *
 * @example
 * ```ts
 * await exportForTransformersJs('models/tiny-chat', { config, weights: model.getWeights(), tokenizer });
 * env.localModelPath = 'models'; env.allowRemoteModels = false;
 * const lm = await AutoModelForCausalLM.from_pretrained('tiny-chat', { dtype: 'fp32', device: 'cpu' });
 * ```
 */
export async function exportForTransformersJs(
  directory: string,
  options: ExportForTransformersJsOptions,
): Promise<void> {
  const config = parseGpt2Config(options.config);
  const { tokenizer } = options;
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new InvalidArgumentError({
      argument: 'tokenizer.vocabSize',
      value: tokenizer.vocabSize,
      message: `exceeds the model's vocabSize ${config.vocabSize}`,
    });
  }
  const model = exportGpt2ToOnnx({ config, weights: options.weights });
  const generationConfig = generationConfigFor(config, tokenizer);
  await writeFileAtomic(path.join(directory, 'onnx', 'model.onnx'), model);
  for (const [name, text] of Object.entries(tokenizer.toFiles()))
    await writeFileAtomic(path.join(directory, name), text);
  await writeFileAtomic(
    path.join(directory, 'generation_config.json'),
    `${JSON.stringify(generationConfig, null, 2)}\n`,
  );
  const huggingFaceConfig = {
    ...gpt2ConfigToHuggingFace(config),
    pad_token_id: tokenizer.padTokenId,
  };
  await writeFileAtomic(
    path.join(directory, 'config.json'),
    `${JSON.stringify(huggingFaceConfig, null, 2)}\n`,
  );
}
