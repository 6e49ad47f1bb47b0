import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError } from '@cohort/core';
import { initializeBackend, type LlamaModel, llamaModelTypes } from '@cohort/tfjs';
import {
  exportLlamaForTransformersJs,
  loadLlamaModel,
  readLoraAdapter,
  saveLlamaModel,
} from '@cohort/tfjs/node';
import { assertModelDirectory, readModelType } from '../chat-model';
import type { CliIo } from '../cli-io';
import type { ExportCommand } from '../command-line';
import { type ExitCode, exitCodes, UsageError } from '../exit-codes';
import { readRunWeights } from './model-source';

/** Tokenizer and chat-template files of a Hugging Face folder, copied as they are when present. */
const tokenizerFileNames = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'chat_template.jinja',
  'chat_template.json',
] as const;

/**
 * `agent-trainer export`: merges a Llama-family model's LoRA adapters into its
 * weights (`W + (alpha / r) B A`) and writes one folder that both runtimes
 * read: a full Hugging Face folder (`config.json`, `model.safetensors`, the
 * base's tokenizer files, `generation_config.json`) for transformers, PEFT,
 * `--model` and `eval`, and `onnx/model.onnx` in the layout transformers.js
 * loads for the `model_type`, so `chat --model OUT --engine transformers.js`
 * (and any transformers.js program) serves it. The source is a run's newest
 * checkpoint (`--run-dir`), or a model folder with an optional PEFT adapter
 * folder (`--model DIR [--adapter DIR]`).
 */
export async function exportCommand(command: ExportCommand, io: CliIo): Promise<ExitCode> {
  await initializeBackend({ logger: false });
  const { model, baseDirectory, source } = await loadExportSource(command);
  try {
    const tokenizerFiles: Record<string, string> = {};
    for (const name of tokenizerFileNames) {
      const file = path.join(baseDirectory, name);
      if (existsSync(file)) tokenizerFiles[name] = await readFile(file, 'utf8');
    }
    // Imported here: @cohort/transformers' index loads transformers.js, which other commands never use.
    const { loadTransformersTokenizer, ModelFilesError } = await import('@cohort/transformers');
    let tokenizer: Awaited<ReturnType<typeof loadTransformersTokenizer>>;
    try {
      tokenizer = await loadTransformersTokenizer(baseDirectory);
    } catch (error) {
      if (ModelFilesError.isInstance(error)) throw new UsageError(error.message, { cause: error });
      throw error;
    }
    await saveLlamaModel(command.out, model, {
      merged: true,
      dtype: command.dtype,
      extraFiles: tokenizerFiles,
    });
    await exportLlamaForTransformersJs(command.out, { model, tokenizer, tokenizerFiles });
  } finally {
    model.dispose();
  }
  const merged = model.lora === undefined ? 'no adapters' : `LoRA rank ${model.lora.rank} merged`;
  if (command.json) {
    io.stdout.write(
      `${JSON.stringify({ type: 'export', source, out: command.out, merged: model.lora !== undefined, dtype: command.dtype, onnx: path.join(command.out, 'onnx', 'model.onnx') })}\n`,
    );
  } else {
    io.stderr.write(
      `exported ${source} (${merged}) to ${command.out}: model.safetensors (${command.dtype}) and onnx/model.onnx for transformers.js\n`,
    );
  }
  return exitCodes.ok;
}

async function loadExportSource(
  command: ExportCommand,
): Promise<{ model: LlamaModel; baseDirectory: string; source: string }> {
  if (command.runDirectory !== undefined) {
    const run = await readRunWeights(command.runDirectory, undefined, 'export');
    await assertLlamaFolder(run.baseDirectory);
    const model = await loadLlamaModel(
      run.baseDirectory,
      run.lora === undefined ? {} : { lora: run.lora },
    );
    if (run.weights !== undefined) {
      try {
        if (model.lora === undefined) model.setWeights(run.weights);
        else model.loadAdapterWeights(run.weights);
      } catch (error) {
        model.dispose();
        throw new CheckpointError({
          path: run.checkpoint ?? command.runDirectory,
          message: `weights do not fit the model: ${(error as Error).message.split('\n')[0]}`,
          cause: error,
        });
      }
    }
    return {
      model,
      baseDirectory: run.baseDirectory,
      source: run.checkpoint ?? `${command.runDirectory} (no checkpoint: the base model)`,
    };
  }
  const directory = command.model!;
  await assertLlamaFolder(directory);
  if (command.adapter === undefined) {
    return { model: await loadLlamaModel(directory), baseDirectory: directory, source: directory };
  }
  const adapter = await readLoraAdapter(command.adapter);
  const model = await loadLlamaModel(directory, { lora: adapter.options });
  try {
    model.loadAdapterWeights(adapter.weights);
  } catch (error) {
    model.dispose();
    throw new CheckpointError({
      path: path.join(command.adapter, 'adapter_model.safetensors'),
      message: `does not fit ${directory}: ${(error as Error).message.split('\n')[0]}`,
      cause: error,
    });
  }
  return { model, baseDirectory: directory, source: `${directory} + ${command.adapter}` };
}

async function assertLlamaFolder(directory: string): Promise<void> {
  await assertModelDirectory(directory);
  const modelType = await readModelType(directory);
  if (!(llamaModelTypes as readonly string[]).includes(modelType ?? '')) {
    throw new UsageError(
      `export writes Llama-family models (${llamaModelTypes.join(', ')}); ${directory} has model_type ${JSON.stringify(modelType ?? null)}`,
    );
  }
}
