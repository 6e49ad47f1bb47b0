import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError } from '@cohort/core';
import { loadCheckpoint } from '@cohort/tfjs/node';
import { AppConfigSchema, defaultModelDirectory } from '../app-config';
import { type ChatModel, loadChatModel } from '../chat-model';
import { UsageError } from '../exit-codes';
import { runPaths } from '../run-directory';

/**
 * The model that `eval` and `chat` talk to: a model folder, or a run's base
 * model with the weights of its newest checkpoint (or of `checkpoint`, a
 * `step-NNNNNN` name; null: none). A run without checkpoints uses the base
 * model; a damaged checkpoint throws `CheckpointError`.
 */
export async function loadModelSource(source: {
  runDirectory?: string;
  model?: string;
  checkpoint?: string | null;
}): Promise<ChatModel & { systemPrompt?: string; checkpoint?: string }> {
  if (source.model !== undefined) return loadChatModel(source.model);
  const runDirectory = source.runDirectory!;
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
      `run ${runDirectory} trained a ${config.policy.type} policy; eval and chat support tfjs-lm runs`,
    );
  }
  const loaded = await loadChatModel(config.policy.modelDirectory ?? defaultModelDirectory);
  let names: string[] = [];
  try {
    names = (await readdir(paths.checkpoints)).filter((name) => /^step-\d+$/.test(name)).sort();
  } catch {
    names = [];
  }
  const latest = source.checkpoint === undefined ? names.at(-1) : (source.checkpoint ?? undefined);
  if (latest !== undefined && !names.includes(latest)) {
    throw new UsageError(`run ${runDirectory} has no checkpoint ${latest}`);
  }
  if (latest === undefined)
    return { ...loaded, ...(config.systemPrompt ? { systemPrompt: config.systemPrompt } : {}) };
  const checkpoint = path.join(paths.checkpoints, latest);
  const contents = await loadCheckpoint(checkpoint);
  const weights = Object.fromEntries(
    Object.entries(contents.weights).filter(([name]) => !name.startsWith('reference/')),
  );
  try {
    loaded.model.loadWeightMap(weights);
  } catch (error) {
    throw new CheckpointError({
      path: checkpoint,
      message: `weights do not fit the model: ${(error as Error).message.split('\n')[0]}`,
      cause: error,
    });
  }
  const trainerState = (contents.metadata as { trainer?: { systemPrompt?: string } } | undefined)
    ?.trainer;
  const systemPrompt = trainerState?.systemPrompt ?? config.systemPrompt;
  return { ...loaded, checkpoint, ...(systemPrompt ? { systemPrompt } : {}) };
}
