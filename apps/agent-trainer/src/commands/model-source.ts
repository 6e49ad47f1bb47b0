import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError } from '@cohort/core';
import type { LoraOptionsInput, WeightMap } from '@cohort/tfjs';
import { loadCheckpoint } from '@cohort/tfjs/node';
import { AppConfigSchema, defaultModelDirectory } from '../app-config';
import { type ChatEngine, type ChatModel, loadChatModel } from '../chat-model';
import { UsageError } from '../exit-codes';
import { runPaths } from '../run-directory';

/**
 * The model that `chat` and the console talk to: a model folder (on `engine`,
 * see `loadChatModel`), or a run's base model with the weights of its newest
 * checkpoint (or of `checkpoint`, a `step-NNNNNN` name; null: none): every
 * weight, or for a LoRA run the base with the checkpoint's adapters. A run
 * without checkpoints uses the base model; a damaged checkpoint throws
 * `CheckpointError`.
 */
export async function loadModelSource(source: {
  runDirectory?: string;
  model?: string;
  checkpoint?: string | null;
  engine?: ChatEngine;
}): Promise<ChatModel & { systemPrompt?: string; checkpoint?: string }> {
  if (source.model !== undefined)
    return loadChatModel(source.model, source.engine ? { engine: source.engine } : {});
  if (source.engine === 'transformers.js') {
    throw new UsageError(
      'a run directory loads on the tfjs engine; export the run with "agent-trainer export" and chat with --model on transformers.js',
    );
  }
  const run = await readRunWeights(source.runDirectory!, source.checkpoint);
  const loaded = await loadChatModel(run.baseDirectory, {
    engine: 'tfjs',
    ...(run.lora === undefined ? {} : { lora: run.lora }),
  });
  if (run.checkpoint === undefined || run.weights === undefined)
    return { ...loaded, ...(run.systemPrompt ? { systemPrompt: run.systemPrompt } : {}) };
  try {
    loaded.loadWeights(run.weights);
  } catch (error) {
    loaded.dispose();
    throw new CheckpointError({
      path: run.checkpoint,
      message: `weights do not fit the model: ${(error as Error).message.split('\n')[0]}`,
      cause: error,
    });
  }
  return {
    ...loaded,
    checkpoint: run.checkpoint,
    ...(run.systemPrompt ? { systemPrompt: run.systemPrompt } : {}),
  };
}

/** A tfjs-lm run's base model, its LoRA options, and the policy weights of one checkpoint. */
export interface RunWeights {
  /** The model folder the run started from. */
  baseDirectory: string;
  lora?: LoraOptionsInput;
  /** The checkpoint folder; undefined when the run has none. */
  checkpoint?: string;
  /** Every weight, or a LoRA run's adapters (reference weights left out). */
  weights?: WeightMap;
  /** The checkpoint's system prompt, else the config's. */
  systemPrompt?: string;
}

/**
 * Reads a tfjs-lm run's config and the weights of its newest checkpoint (or
 * of `checkpoint`, a `step-NNNNNN` name; null: none). Not a run, or a run of
 * another policy type, throws {@link UsageError}; a damaged checkpoint
 * throws `CheckpointError`.
 */
export async function readRunWeights(
  runDirectory: string,
  checkpointName?: string | null,
): Promise<RunWeights> {
  const paths = runPaths(runDirectory);
  let configText: string;
  try {
    configText = await readFile(paths.config, 'utf8');
  } catch {
    throw new UsageError(`not a run directory (no config.resolved.json): ${runDirectory}`);
  }
  const parsed = AppConfigSchema.safeParse(JSON.parse(configText));
  if (!parsed.success) throw new UsageError(`${paths.config} is not a valid resolved config`);
  const config = parsed.data;
  if (config.policy.type !== 'tfjs-lm') {
    throw new UsageError(
      `run ${runDirectory} trained a ${config.policy.type} policy; chat and export support tfjs-lm runs`,
    );
  }
  const base = {
    baseDirectory: config.policy.modelDirectory ?? defaultModelDirectory,
    ...(config.policy.lora === undefined ? {} : { lora: config.policy.lora }),
  };
  let names: string[] = [];
  try {
    names = (await readdir(paths.checkpoints)).filter((name) => /^step-\d+$/.test(name)).sort();
  } catch {
    names = [];
  }
  const latest = checkpointName === undefined ? names.at(-1) : (checkpointName ?? undefined);
  if (latest !== undefined && !names.includes(latest)) {
    throw new UsageError(`run ${runDirectory} has no checkpoint ${latest}`);
  }
  if (latest === undefined)
    return { ...base, ...(config.systemPrompt ? { systemPrompt: config.systemPrompt } : {}) };
  const checkpoint = path.join(paths.checkpoints, latest);
  const contents = await loadCheckpoint(checkpoint);
  const weights = Object.fromEntries(
    Object.entries(contents.weights).filter(
      ([name]) => !name.startsWith('reference/') && !name.startsWith('value/'),
    ),
  );
  const trainerState = (contents.metadata as { trainer?: { systemPrompt?: string } } | undefined)
    ?.trainer;
  const systemPrompt = trainerState?.systemPrompt ?? config.systemPrompt;
  return { ...base, checkpoint, weights, ...(systemPrompt ? { systemPrompt } : {}) };
}
