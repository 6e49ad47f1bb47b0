import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError, InvalidArgumentError } from '@cohort/core';
import { writeFileAtomic } from '../atomic-file';
import { readSafetensors, writeSafetensors } from '../safetensors';
import type { WeightMap } from '../weights';
import type { LlamaModel } from './llama-model';
import { type LoraOptions, loraTargetModules, parseLoraOptions } from './lora-options';

/** The prefix PEFT puts before a transformers module name in a saved adapter. */
const peftPrefix = 'base_model.model.';

/** Options of {@link saveLoraAdapter}. */
export interface SaveLoraAdapterOptions {
  /** `base_model_name_or_path` in `adapter_config.json` (the base the adapter belongs to). Default null. */
  baseModelNameOrPath?: string;
}

/**
 * Writes the LoRA adapters of a model in the PEFT layout that PEFT's
 * `PeftModel.from_pretrained`, vLLM and llama.cpp's `convert_lora_to_gguf.py`
 * read: `adapter_config.json` (`peft_type: "LORA"`, `r`, `lora_alpha`,
 * `target_modules`, ...) and `adapter_model.safetensors` with keys such as
 * `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`
 * (`A` stored `[r, in]`, `B` stored `[out, r]`, as `torch.nn.Linear` keeps them).
 *
 * @example
 * ```ts
 * await saveLoraAdapter('out/adapter', model, { baseModelNameOrPath: 'HuggingFaceTB/SmolLM2-135M-Instruct' });
 * ```
 */
export async function saveLoraAdapter(
  directory: string,
  model: LlamaModel,
  options: SaveLoraAdapterOptions = {},
): Promise<void> {
  const lora = model.lora;
  if (lora === undefined) {
    throw new InvalidArgumentError({
      argument: 'model.lora',
      value: undefined,
      message: 'the model has no LoRA adapters to save',
    });
  }
  const tensors: WeightMap = {};
  for (const [name, tensor] of Object.entries(model.adapterWeights())) {
    const [rows, columns] = tensor.shape as [number, number];
    tensors[`${peftPrefix}${name}`] = {
      shape: [columns, rows],
      data: transpose(tensor.data, rows, columns),
    };
  }
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: options.baseModelNameOrPath ?? null,
    r: lora.rank,
    lora_alpha: lora.alpha ?? lora.rank,
    target_modules: [...lora.targets],
    lora_dropout: 0,
    bias: 'none',
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    inference_mode: true,
    modules_to_save: null,
    layers_to_transform: null,
  };
  await mkdir(directory, { recursive: true });
  await writeFileAtomic(
    path.join(directory, 'adapter_model.safetensors'),
    writeSafetensors(tensors, { format: 'pt' }),
  );
  await writeFileAtomic(
    path.join(directory, 'adapter_config.json'),
    `${JSON.stringify(config, null, 2)}\n`,
  );
}

function transpose(data: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) out[c * rows + r] = data[r * columns + c] as number;
  }
  return out;
}

/** A LoRA adapter read by {@link readLoraAdapter}. */
export interface LoraAdapter {
  /** The options to create a model with matching adapters. */
  options: LoraOptions;
  /** Adapters under Cohort's names and layouts (`A [in, r]`, `B [r, out]`), for `LlamaModel.loadAdapterWeights`. */
  weights: WeightMap;
}

/**
 * Reads a PEFT LoRA adapter folder (`adapter_config.json`,
 * `adapter_model.safetensors`). Throws `CheckpointError` naming the missing
 * file, or the setting Cohort does not implement (`use_rslora`, `use_dora`,
 * a `bias` other than `"none"`, `layers_to_transform`, `modules_to_save`,
 * regular-expression `target_modules`, `lora_dropout` > 0 in training use,
 * which Cohort would silently drop, so it is refused), or the tensor whose key
 * or shape is not a LoRA factor.
 *
 * @example
 * ```ts
 * const adapter = await readLoraAdapter('out/adapter');
 * const model = await loadLlamaModel('models/base', { lora: adapter.options });
 * model.loadAdapterWeights(adapter.weights);
 * ```
 */
export async function readLoraAdapter(directory: string): Promise<LoraAdapter> {
  const configFile = path.join(directory, 'adapter_config.json');
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new CheckpointError({
      path: configFile,
      message: 'adapter_config.json is missing or not JSON',
      cause: error,
    });
  }
  const refuse = (field: string, message: string): never => {
    throw new CheckpointError({
      path: configFile,
      message: `${field} = ${JSON.stringify(config[field])}: ${message}`,
    });
  };
  if (config.peft_type !== 'LORA') refuse('peft_type', 'only LORA adapters are supported');
  if (config.use_rslora === true) refuse('use_rslora', 'rank-stabilized scaling is not supported');
  if (config.use_dora === true) refuse('use_dora', 'DoRA is not supported');
  if (config.bias !== undefined && config.bias !== 'none')
    refuse('bias', 'only "none" is supported');
  if (config.fan_in_fan_out === true) refuse('fan_in_fan_out', 'Llama projections are not Conv1D');
  if (config.layers_to_transform !== undefined && config.layers_to_transform !== null) {
    refuse('layers_to_transform', 'adapters on every layer are supported only');
  }
  if (Array.isArray(config.modules_to_save) && config.modules_to_save.length > 0) {
    refuse('modules_to_save', 'fully trained extra modules are not supported');
  }
  if (typeof config.lora_dropout === 'number' && config.lora_dropout > 0) {
    refuse('lora_dropout', 'Cohort trains LoRA without dropout; set it to 0 to load this adapter');
  }
  const targets = config.target_modules;
  if (
    !Array.isArray(targets) ||
    !targets.every((target) => (loraTargetModules as readonly unknown[]).includes(target))
  ) {
    refuse('target_modules', `must be a list of ${loraTargetModules.join(', ')}`);
  }
  let options: LoraOptions;
  try {
    options = parseLoraOptions({
      rank: config.r,
      alpha: config.lora_alpha,
      targets: [...new Set(targets as string[])],
    });
  } catch (error) {
    throw new CheckpointError({
      path: configFile,
      message: (error as Error).message,
      cause: error,
    });
  }
  const weightsFile = path.join(directory, 'adapter_model.safetensors');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(weightsFile);
  } catch (error) {
    throw new CheckpointError({
      path: weightsFile,
      message: 'is missing or unreadable',
      cause: error,
    });
  }
  const weights: WeightMap = {};
  for (const [key, tensor] of Object.entries(
    readSafetensors(bytes, { source: weightsFile }).weights,
  )) {
    const match = /^base_model\.model\.(.+\.(lora_A|lora_B))(?:\.default)?\.weight$/.exec(key);
    if (match === null || tensor.shape.length !== 2) {
      throw new CheckpointError({
        path: weightsFile,
        message: `tensor "${key}" (shape [${tensor.shape.join(', ')}]) is not a PEFT LoRA factor`,
      });
    }
    const [rows, columns] = tensor.shape as [number, number];
    const rankAxis = match[2] === 'lora_A' ? rows : columns;
    if (rankAxis !== options.rank) {
      throw new CheckpointError({
        path: weightsFile,
        message: `tensor "${key}" has shape [${rows}, ${columns}], whose rank axis is not r = ${options.rank}`,
      });
    }
    weights[`${match[1]}.weight`] = {
      shape: [columns, rows],
      data: transpose(tensor.data, rows, columns),
    };
  }
  return { options, weights };
}

/**
 * Reads a PEFT adapter into a model that already has adapters of the same
 * rank and targets, naming any adapter that is missing or misshaped.
 *
 * @example
 * ```ts
 * await loadLoraAdapter('out/adapter', model);
 * ```
 */
export async function loadLoraAdapter(directory: string, model: LlamaModel): Promise<void> {
  const adapter = await readLoraAdapter(directory);
  const lora = model.lora;
  if (
    lora === undefined ||
    lora.rank !== adapter.options.rank ||
    (lora.alpha ?? lora.rank) !== (adapter.options.alpha ?? adapter.options.rank) ||
    [...lora.targets].sort().join() !== [...adapter.options.targets].sort().join()
  ) {
    throw new CheckpointError({
      path: path.join(directory, 'adapter_config.json'),
      message: `r = ${adapter.options.rank}, lora_alpha = ${adapter.options.alpha}, target_modules = [${adapter.options.targets.join(', ')}] do not match the model's adapters (${lora === undefined ? 'none' : `rank ${lora.rank}, alpha ${lora.alpha ?? lora.rank}, targets ${lora.targets.join(', ')}`})`,
    });
  }
  try {
    model.loadAdapterWeights(adapter.weights);
  } catch (error) {
    if (!InvalidArgumentError.isInstance(error)) throw error;
    throw new CheckpointError({
      path: path.join(directory, 'adapter_model.safetensors'),
      message: error.message,
      cause: error,
    });
  }
}
