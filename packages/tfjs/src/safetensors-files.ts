import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError, InvalidArgumentError } from '@cohort/core';
import { writeFileAtomic } from './atomic-file';
import {
  type Gpt2Config,
  gpt2ConfigFromHuggingFace,
  gpt2ConfigToHuggingFace,
  parseGpt2Config,
} from './gpt2-config';
import { checkGpt2Weights, normalizeGpt2WeightNames } from './reference-gpt2-weights';
import { readSafetensors, writeSafetensors } from './safetensors';
import type { WeightMap } from './weights';

/** Options of {@link saveHuggingFaceModel}. */
export interface SaveHuggingFaceModelOptions {
  config: Gpt2Config;
  weights: WeightMap;
  /** Extra files written next to the model, by file name (for example `BpeTokenizer.toFiles()`). */
  tokenizerFiles?: Record<string, string>;
}

/** A GPT-2 model read by {@link loadHuggingFaceModel}. */
export interface HuggingFaceModel {
  config: Gpt2Config;
  weights: WeightMap;
  /** The safetensors `__metadata__`. */
  metadata: Record<string, string>;
}

/**
 * Writes a GPT-2 model in the Hugging Face layout: `config.json`
 * ({@link gpt2ConfigToHuggingFace}) and `model.safetensors` (float32, with
 * `__metadata__ = { format: "pt" }` as `transformers` writes), plus any
 * tokenizer files. Each file is written atomically.
 *
 * @example
 * ```ts
 * await saveHuggingFaceModel('out/my-model', { config, weights: model.getWeights(), tokenizerFiles: tokenizer.toFiles() });
 * ```
 */
export async function saveHuggingFaceModel(
  directory: string,
  options: SaveHuggingFaceModelOptions,
): Promise<void> {
  const config = parseGpt2Config(options.config);
  checkGpt2Weights(config, options.weights, 'weights');
  for (const name of Object.keys(options.tokenizerFiles ?? {})) {
    if (name !== path.basename(name) || name === 'config.json' || name === 'model.safetensors') {
      throw new InvalidArgumentError({
        argument: 'tokenizerFiles',
        value: name,
        message: 'must be plain file names other than config.json and model.safetensors',
      });
    }
  }
  await mkdir(directory, { recursive: true });
  await writeFileAtomic(
    path.join(directory, 'model.safetensors'),
    writeSafetensors(options.weights, { format: 'pt' }),
  );
  for (const [name, text] of Object.entries(options.tokenizerFiles ?? {})) {
    await writeFileAtomic(path.join(directory, name), text);
  }
  // config.json goes last, so a folder with a config always has its weights.
  await writeFileAtomic(
    path.join(directory, 'config.json'),
    `${JSON.stringify(gpt2ConfigToHuggingFace(config), null, 2)}\n`,
  );
}

/**
 * Reads a GPT-2 model from a Hugging Face folder (`config.json` and
 * `model.safetensors`), written by {@link saveHuggingFaceModel} or downloaded
 * from the hub (names without the `transformer.` prefix, F16/BF16 weights and
 * the `attn.bias` buffers are all accepted). Throws {@link CheckpointError}
 * when a file is missing or damaged or the weights do not fit the config.
 *
 * @example
 * ```ts
 * const { config, weights } = await loadHuggingFaceModel('models/gpt2');
 * ```
 */
export async function loadHuggingFaceModel(directory: string): Promise<HuggingFaceModel> {
  const configPath = path.join(directory, 'config.json');
  const weightsPath = path.join(directory, 'model.safetensors');
  let configJson: unknown;
  try {
    configJson = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (error) {
    throw new CheckpointError({
      path: configPath,
      message: 'cannot read config.json as JSON',
      cause: error,
    });
  }
  if (configJson === null || typeof configJson !== 'object' || Array.isArray(configJson)) {
    throw new CheckpointError({ path: configPath, message: 'config.json is not a JSON object' });
  }
  let config: Gpt2Config;
  try {
    config = gpt2ConfigFromHuggingFace(configJson as Record<string, unknown>);
  } catch (error) {
    throw new CheckpointError({
      path: configPath,
      message: `not a GPT-2 config: ${(error as Error).message}`,
      cause: error,
    });
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(weightsPath);
  } catch (error) {
    throw new CheckpointError({
      path: weightsPath,
      message: 'cannot read model.safetensors',
      cause: error,
    });
  }
  const { weights, metadata } = readSafetensors(bytes, { source: weightsPath });
  const normalized = normalizeGpt2WeightNames(weights);
  checkGpt2Weights(config, normalized, weightsPath);
  return { config, weights: normalized, metadata };
}
