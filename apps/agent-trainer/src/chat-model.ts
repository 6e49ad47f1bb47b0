import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Tokenizer } from '@cohort/core';
import {
  type CausalLanguageModel,
  createGptModel,
  generate,
  type LoraOptionsInput,
  llamaModelTypes,
  type WeightMap,
} from '@cohort/tfjs';
import { loadBpeTokenizer, loadHuggingFaceModel, loadLlamaModel } from '@cohort/tfjs/node';
import type { ChatEngine } from './chat-engines';
import { UsageError } from './exit-codes';

export type { ChatEngine } from './chat-engines';

/** One reply's sampling settings. */
export interface ChatSampleOptions {
  /** The prompt's token ids (the chat template with the generation prompt). */
  prompt: readonly number[];
  maxNewTokens: number;
  /** 0 is greedy. */
  temperature: number;
  seed: number;
  /** Sampling stops after one of these ids. */
  stopTokenIds: readonly number[];
}

/**
 * One reply from any sampler of the `Policy.sample` shape (the ONNX loop,
 * a proxy-tuned policy): one prompt, a group of one, its token ids.
 */
export async function sampleOneReply(
  sampler: {
    sample(request: {
      prompts: (readonly number[])[];
      groupSize: number;
      maxNewTokens: number;
      temperature: number;
      seed: number;
      stopTokenIds: readonly number[];
    }): Promise<{ tokenIds: number[] }[]>;
  },
  options: ChatSampleOptions,
): Promise<number[]> {
  const [completion] = await sampler.sample({
    prompts: [options.prompt],
    groupSize: 1,
    maxNewTokens: options.maxNewTokens,
    temperature: options.temperature,
    seed: options.seed,
    stopTokenIds: options.stopTokenIds,
  });
  return completion!.tokenIds;
}

/**
 * A chat model read from a model folder: a tfjs GPT-2 or Llama-family model
 * (Llama, SmolLM, Qwen2, Qwen3), or any transformers.js causal LM from its
 * `onnx/` graph, with its tokenizer and chat template.
 */
export interface ChatModel {
  directory: string;
  engine: ChatEngine;
  tokenizer: Tokenizer;
  /** Longest prompt plus reply, in tokens. */
  contextLength: number;
  /** Samples one reply's token ids. */
  sample(options: ChatSampleOptions): Promise<number[]>;
  /**
   * Loads a checkpoint's policy weights (tfjs models only): every weight, or
   * the LoRA adapters of a model loaded with `lora`.
   */
  loadWeights(weights: WeightMap): void;
  dispose(): void;
}

/** Options of {@link loadChatModel}. */
export interface LoadChatModelOptions {
  /**
   * Default: `tfjs` when the folder has `model.safetensors` (or a sharded
   * index), else `transformers.js` when it has `onnx/*.onnx`.
   */
  engine?: ChatEngine;
  /** LoRA adapters to create on a Llama-family model, for a LoRA run's checkpoint (tfjs only). */
  lora?: LoraOptionsInput;
}

/**
 * Loads a chat model from a Hugging Face folder: GPT-2 (`config.json`,
 * `model.safetensors`, `tokenizer.json`, what `agent-trainer sft` writes) or
 * a Llama-family folder on TensorFlow.js, or the folder's ONNX graph on
 * transformers.js (what `agent-trainer export` writes). A missing folder
 * throws {@link UsageError} (exit 2); a damaged file throws `CheckpointError`
 * (exit 1); both print one line.
 *
 * @example
 * ```ts
 * const chat = await loadChatModel('apps/agent-trainer/models/support-agent-tiny');
 * const onnx = await loadChatModel('out/exported', { engine: 'transformers.js' });
 * ```
 */
export async function loadChatModel(
  directory: string,
  options: LoadChatModelOptions = {},
): Promise<ChatModel> {
  await assertModelDirectory(directory);
  const resolved = path.resolve(directory);
  const hasWeights =
    existsSync(path.join(directory, 'model.safetensors')) ||
    existsSync(path.join(directory, 'model.safetensors.index.json'));
  const engine = options.engine ?? (hasWeights ? 'tfjs' : 'transformers.js');
  if (engine === 'transformers.js') {
    if (options.lora !== undefined) {
      throw new UsageError(
        'LoRA adapters load on the tfjs engine; merge them first with "agent-trainer export"',
      );
    }
    return loadTransformersJsChatModel(resolved);
  }
  const modelType = await readModelType(directory);
  if ((llamaModelTypes as readonly string[]).includes(modelType ?? '')) {
    const { loadTransformersTokenizer } = await import('@cohort/transformers');
    const tokenizer = await usageErrorOnMissingFiles(() => loadTransformersTokenizer(directory));
    const model = await loadLlamaModel(
      directory,
      options.lora === undefined ? {} : { lora: options.lora },
    );
    return tfjsChatModel(resolved, model, tokenizer, (weights) => {
      if (model.lora === undefined) model.setWeights(weights);
      else model.loadAdapterWeights(weights);
    });
  }
  if (options.lora !== undefined) {
    throw new UsageError(
      `LoRA needs a Llama-family model (${llamaModelTypes.join(', ')}); ${directory} has model_type ${JSON.stringify(modelType)}`,
    );
  }
  const { config, weights } = await loadHuggingFaceModel(directory);
  const tokenizer = await loadBpeTokenizer(directory);
  const model = createGptModel({ config });
  model.setWeights(weights);
  return tfjsChatModel(resolved, model, tokenizer, (loaded) => model.setWeights(loaded));
}

function tfjsChatModel(
  directory: string,
  model: CausalLanguageModel & { dispose(): void; readonly config: { contextLength: number } },
  tokenizer: Tokenizer,
  loadWeights: (weights: WeightMap) => void,
): ChatModel {
  return {
    directory,
    engine: 'tfjs',
    tokenizer,
    contextLength: model.config.contextLength,
    async sample(options) {
      const [sequence] = await generate(model, {
        prompts: [[...options.prompt]],
        maxNewTokens: options.maxNewTokens,
        temperature: options.temperature,
        stopTokenIds: [...options.stopTokenIds],
        eosTokenId: tokenizer.eosTokenId,
        padTokenId: tokenizer.padTokenId,
        seed: options.seed,
      });
      return sequence!.tokenIds;
    },
    loadWeights,
    dispose: () => model.dispose(),
  };
}

async function loadTransformersJsChatModel(directory: string): Promise<ChatModel> {
  const { loadCausalLm, TransformersSampler } = await import('@cohort/transformers');
  const { model, tokenizer } = await usageErrorOnMissingFiles(() =>
    loadCausalLm({ model: directory }),
  );
  const sampler = new TransformersSampler({ model, tokenizer, batchSize: 1 });
  return {
    directory,
    engine: 'transformers.js',
    tokenizer,
    contextLength: model.maxPositions ?? Number.MAX_SAFE_INTEGER,
    sample: (options) => sampleOneReply(sampler, options),
    loadWeights() {
      throw new UsageError(
        'checkpoint weights load on the tfjs engine; export the run with "agent-trainer export" to chat with it on transformers.js',
      );
    },
    dispose() {},
  };
}

// @cohort/transformers is imported where a model needs it: its index loads transformers.js.
async function usageErrorOnMissingFiles<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const { ModelFilesError } = await import('@cohort/transformers');
    if (ModelFilesError.isInstance(error)) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

/** The folder's `model_type` from `config.json`, or undefined when it has none. */
export async function readModelType(directory: string): Promise<string | undefined> {
  try {
    const json = JSON.parse(await readFile(path.join(directory, 'config.json'), 'utf8'));
    return typeof json.model_type === 'string' ? json.model_type : undefined;
  } catch {
    return undefined;
  }
}

/** Refuses a model folder that does not exist with a one-line usage error that says how to make one. */
export async function assertModelDirectory(directory: string): Promise<void> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) {
    throw new UsageError(
      `model directory not found: ${directory} (make one with "agent-trainer sft --out ${directory}")`,
    );
  }
}
