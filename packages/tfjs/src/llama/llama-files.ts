import { access, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError, InvalidArgumentError } from '@cohort/core';
import { writeFileAtomic } from '../atomic-file';
import { openSafetensors, writeSafetensors } from '../safetensors';
import type { WeightMap } from '../weights';
import {
  assertLlamaSwitchesExpressible,
  type LlamaConfig,
  llamaConfigFromHuggingFace,
  llamaConfigToHuggingFace,
} from './llama-config';
import { createLlamaModel, type LlamaModel } from './llama-model';
import type { LoraOptionsInput } from './lora-options';

/** Options of {@link loadLlamaModel}. */
export interface LoadLlamaModelOptions {
  /** Add fresh LoRA adapters to the loaded base (see `LoraOptions`). */
  lora?: LoraOptionsInput;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function readJson(file: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CheckpointError({
      path: file,
      message: `${what} is missing or unreadable`,
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError({ path: file, message: `${what} is not valid JSON`, cause: error });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new CheckpointError({ path: file, message: `${what} is not a JSON object` });
  }
  return json as Record<string, unknown>;
}

/**
 * Reads the {@link LlamaConfig} of a Hugging Face folder's `config.json`.
 * Throws `CheckpointError` naming the file when it is missing, and the
 * `model_type` or field that Cohort cannot load.
 */
export async function readLlamaConfig(directory: string): Promise<LlamaConfig> {
  const file = path.join(directory, 'config.json');
  const json = await readJson(file, 'config.json');
  try {
    return llamaConfigFromHuggingFace(json);
  } catch (error) {
    throw new CheckpointError({ path: file, message: (error as Error).message, cause: error });
  }
}

/** The safetensors files of a folder and, for a sharded one, which tensors each should hold. */
async function weightFiles(directory: string): Promise<{ file: string; names?: Set<string> }[]> {
  const single = path.join(directory, 'model.safetensors');
  const index = path.join(directory, 'model.safetensors.index.json');
  if (await exists(index)) {
    const json = await readJson(index, 'model.safetensors.index.json');
    const map = json.weight_map;
    if (map === null || typeof map !== 'object' || Array.isArray(map)) {
      throw new CheckpointError({ path: index, message: 'has no weight_map object' });
    }
    const shards = new Map<string, Set<string>>();
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard !== path.basename(shard)) {
        throw new CheckpointError({
          path: index,
          message: `weight_map["${name}"] = ${JSON.stringify(shard)} is not a file name in the folder`,
        });
      }
      const names = shards.get(shard) ?? new Set<string>();
      names.add(name);
      shards.set(shard, names);
    }
    return [...shards].map(([shard, names]) => ({ file: path.join(directory, shard), names }));
  }
  if (await exists(single)) return [{ file: single }];
  throw new CheckpointError({
    path: directory,
    message: 'has neither model.safetensors nor model.safetensors.index.json',
  });
}

/** Tensors that Hugging Face folders may hold but a Llama model does not read. */
function isIgnored(name: string, config: LlamaConfig): boolean {
  return (
    name.endsWith('.rotary_emb.inv_freq') || (config.tieWordEmbeddings && name === 'lm_head.weight')
  );
}

/**
 * Loads a Llama-family model (Llama, SmolLM, Qwen2, Qwen3) from a Hugging
 * Face folder: `config.json` and `model.safetensors` or a sharded
 * `model.safetensors.index.json`, F32/BF16/F16 tensors under their Hugging
 * Face names. Each shard is read, then converted to float32 and set one
 * tensor at a time, so memory holds the model, one shard's bytes and one
 * tensor, never a second full copy. Throws `CheckpointError` naming the
 * missing file, the unknown `model_type`, or the tensor that is missing,
 * unknown or misshaped.
 *
 * @example
 * ```ts
 * const model = await loadLlamaModel('models/SmolLM2-135M-Instruct', { lora: { rank: 8, alpha: 16 } });
 * ```
 */
export async function loadLlamaModel(
  directory: string,
  options: LoadLlamaModelOptions = {},
): Promise<LlamaModel> {
  const config = await readLlamaConfig(directory);
  const files = await weightFiles(directory);
  const model = createLlamaModel({
    config,
    zeroInitialize: true,
    ...(options.lora !== undefined ? { lora: options.lora } : {}),
  });
  try {
    const loaded = new Set<string>();
    for (const { file, names } of files) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await readFile(file);
      } catch (error) {
        throw new CheckpointError({
          path: file,
          message: 'is missing or unreadable',
          cause: error,
        });
      }
      const contents = openSafetensors(bytes, { source: file });
      for (const name of names ?? []) {
        if (contents.entry(name) === undefined) {
          throw new CheckpointError({
            path: file,
            message: `has no tensor "${name}", which model.safetensors.index.json places there`,
          });
        }
      }
      for (const name of contents.names) {
        if (isIgnored(name, config)) continue;
        try {
          model.setWeight(name, contents.tensor(name));
        } catch (error) {
          if (!InvalidArgumentError.isInstance(error)) throw error;
          throw new CheckpointError({ path: file, message: error.message, cause: error });
        }
        loaded.add(name);
      }
      bytes = undefined;
    }
    const missing = Object.keys(model.baseWeightShapes()).filter((name) => !loaded.has(name));
    if (missing.length > 0) {
      throw new CheckpointError({
        path: directory,
        message: `tensor "${missing[0]}" is missing (${missing.length} missing in all)`,
      });
    }
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** Options of {@link saveLlamaModel}. */
export interface SaveLlamaModelOptions {
  /** Write `W + (alpha / rank) A B` for every adapted projection (merge-and-save). Default false: the base. */
  merged?: boolean;
  /** Element type of the weights. Default `'F32'`. */
  dtype?: 'F32' | 'BF16' | 'F16';
  /** Extra files written next to the model by file name (tokenizer files, generation config). */
  extraFiles?: Record<string, string>;
  /** Split into shards of at most this many bytes with a `model.safetensors.index.json`. Default: one file. */
  maxShardBytes?: number;
}

const dtypeNames = { F32: 'float32', BF16: 'bfloat16', F16: 'float16' } as const;
const bytesPerElement = { F32: 4, BF16: 2, F16: 2 } as const;

/**
 * Writes a Llama-family model as a Hugging Face folder that `transformers`,
 * transformers.js's converter and {@link loadLlamaModel} read: `config.json`,
 * `model.safetensors` (or shards and `model.safetensors.index.json`), and any
 * extra files. With `merged`, the LoRA adapters are merged into the weights.
 * Each file is written atomically, `config.json` last.
 *
 * @example
 * ```ts
 * await saveLlamaModel('out/merged', model, { merged: true, dtype: 'BF16', extraFiles: tokenizerFiles });
 * ```
 */
export async function saveLlamaModel(
  directory: string,
  model: LlamaModel,
  options: SaveLlamaModelOptions = {},
): Promise<void> {
  assertLlamaSwitchesExpressible(model.config);
  const dtype = options.dtype ?? 'F32';
  for (const name of Object.keys(options.extraFiles ?? {})) {
    if (name !== path.basename(name) || name === 'config.json' || name.endsWith('.safetensors')) {
      throw new InvalidArgumentError({
        argument: 'extraFiles',
        value: name,
        message: 'must be plain file names other than config.json and *.safetensors',
      });
    }
  }
  if (options.maxShardBytes !== undefined && !(options.maxShardBytes > 0)) {
    throw new InvalidArgumentError({
      argument: 'maxShardBytes',
      value: options.maxShardBytes,
      message: 'must be a positive number of bytes',
    });
  }
  const weights = model.getWeights({ merged: options.merged === true });
  const shards: WeightMap[] = [{}];
  let shardBytes = 0;
  let totalBytes = 0;
  for (const name of Object.keys(weights).sort()) {
    const tensor = weights[name] as WeightMap[string];
    const bytes = tensor.data.length * bytesPerElement[dtype];
    if (
      options.maxShardBytes !== undefined &&
      shardBytes > 0 &&
      shardBytes + bytes > options.maxShardBytes
    ) {
      shards.push({});
      shardBytes = 0;
    }
    (shards[shards.length - 1] as WeightMap)[name] = tensor;
    shardBytes += bytes;
    totalBytes += bytes;
  }
  await mkdir(directory, { recursive: true });
  if (shards.length === 1) {
    await writeFileAtomic(
      path.join(directory, 'model.safetensors'),
      writeSafetensors(weights, { format: 'pt' }, { dtype }),
    );
  } else {
    const count = String(shards.length).padStart(5, '0');
    const weightMap: Record<string, string> = {};
    for (const [index, shard] of shards.entries()) {
      const file = `model-${String(index + 1).padStart(5, '0')}-of-${count}.safetensors`;
      await writeFileAtomic(
        path.join(directory, file),
        writeSafetensors(shard, { format: 'pt' }, { dtype }),
      );
      for (const name of Object.keys(shard)) weightMap[name] = file;
    }
    await writeFileAtomic(
      path.join(directory, 'model.safetensors.index.json'),
      `${JSON.stringify({ metadata: { total_size: totalBytes }, weight_map: weightMap }, null, 2)}\n`,
    );
  }
  for (const [name, text] of Object.entries(options.extraFiles ?? {})) {
    await writeFileAtomic(path.join(directory, name), text);
  }
  const config = { ...llamaConfigToHuggingFace(model.config), torch_dtype: dtypeNames[dtype] };
  await writeFileAtomic(
    path.join(directory, 'config.json'),
    `${JSON.stringify(config, null, 2)}\n`,
  );
}
