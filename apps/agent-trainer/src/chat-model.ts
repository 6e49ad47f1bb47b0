import { stat } from 'node:fs/promises';
import path from 'node:path';
import { type BpeTokenizer, createGptModel, type GptModel } from '@cohort/tfjs';
import { loadBpeTokenizer, loadHuggingFaceModel } from '@cohort/tfjs/node';
import { UsageError } from './exit-codes';

/** A chat model read from a Hugging Face folder: the tfjs GPT model and its tokenizer. */
export interface ChatModel {
  model: GptModel;
  tokenizer: BpeTokenizer;
  directory: string;
}

/**
 * Loads a GPT-2-style chat model from a folder with `config.json`,
 * `model.safetensors` and `tokenizer.json` (what `agent-trainer sft`
 * writes). A missing folder throws {@link UsageError} (exit 2); a damaged
 * file throws `CheckpointError` (exit 1); both print one line.
 *
 * @example
 * ```ts
 * const { model, tokenizer } = await loadChatModel('apps/agent-trainer/models/support-agent-tiny');
 * ```
 */
export async function loadChatModel(directory: string): Promise<ChatModel> {
  await assertModelDirectory(directory);
  const { config, weights } = await loadHuggingFaceModel(directory);
  const tokenizer = await loadBpeTokenizer(directory);
  const model = createGptModel({ config });
  model.loadWeightMap(weights);
  return { model, tokenizer, directory: path.resolve(directory) };
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
