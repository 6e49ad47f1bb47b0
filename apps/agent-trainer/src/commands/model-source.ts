import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError } from '@cohort/core';
import type { LoraOptionsInput, WeightMap } from '@cohort/tfjs';
import { loadCheckpoint } from '@cohort/tfjs/node';
import { type AppConfig, AppConfigSchema, defaultModelDirectory } from '../app-config';
import { type ChatEngine, type ChatModel, loadChatModel, sampleOneReply } from '../chat-model';
import { UsageError } from '../exit-codes';
import { runPaths } from '../run-directory';
import { type RunPolicyCommand, RunPolicyError } from '../run-policy-error';
import { createProxyPolicy } from '../training-setup';

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
  /** The command asking, named in a refusal (default `chat`). */
  command?: RunPolicyCommand;
}): Promise<ChatModel & { systemPrompt?: string; checkpoint?: string }> {
  if (source.model !== undefined)
    return loadChatModel(source.model, source.engine ? { engine: source.engine } : {});
  const command = source.command ?? 'chat';
  const stored = await readRunCheckpoint(source.runDirectory!, source.checkpoint);
  if (stored.config.policy.type === 'proxy') return loadProxyChatModel(stored);
  if (source.engine === 'transformers.js') {
    throw new UsageError(
      'a run directory loads on the tfjs engine; export the run with "agent-trainer export" and chat with --model on transformers.js',
    );
  }
  const run = runWeightsOf(stored, command);
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
 * of `checkpoint`, a `step-NNNNNN` name; null: none). Not a run throws
 * {@link UsageError}; a run of another policy type throws
 * {@link RunPolicyError} naming `command`; a damaged checkpoint throws
 * `CheckpointError`.
 */
export async function readRunWeights(
  runDirectory: string,
  checkpointName?: string | null,
  command: RunPolicyCommand = 'chat',
): Promise<RunWeights> {
  return runWeightsOf(await readRunCheckpoint(runDirectory, checkpointName), command);
}

/** A run's config and the policy weights and system prompt of one of its checkpoints, whatever its policy type. */
interface RunCheckpoint {
  runDirectory: string;
  config: AppConfig;
  checkpoint?: string;
  weights?: WeightMap;
  systemPrompt?: string;
}

function runWeightsOf(run: RunCheckpoint, command: RunPolicyCommand): RunWeights {
  const { config } = run;
  if (config.policy.type !== 'tfjs-lm') {
    throw new RunPolicyError({
      runDirectory: run.runDirectory,
      policyType: config.policy.type,
      command,
    });
  }
  return {
    baseDirectory: config.policy.modelDirectory ?? defaultModelDirectory,
    ...(config.policy.lora === undefined ? {} : { lora: config.policy.lora }),
    ...(run.checkpoint === undefined ? {} : { checkpoint: run.checkpoint }),
    ...(run.weights === undefined ? {} : { weights: run.weights }),
    ...(run.systemPrompt ? { systemPrompt: run.systemPrompt } : {}),
  };
}

/**
 * The chat model of a proxy-tuned run: the frozen transformers.js base plus
 * the checkpoint's delta, sampled by the proxy policy itself (the policy the
 * run trained and sampled rollouts with); without a checkpoint, the delta's
 * initial weights, as the run started.
 */
async function loadProxyChatModel(
  run: RunCheckpoint,
): Promise<ChatModel & { systemPrompt?: string; checkpoint?: string }> {
  const { config } = run;
  if (config.policy.type !== 'proxy') throw new Error('not a proxy run');
  const { policy } = await createProxyPolicy(
    config.policy.baseModelDirectory,
    config.policy.delta,
    config.trainer.seed,
  );
  if (run.weights !== undefined) {
    try {
      assertWeightsFit(policy.getWeights(), run.weights, run.checkpoint!);
      policy.setWeights(run.weights);
    } catch (error) {
      policy.dispose();
      throw error;
    }
  }
  const { tokenizer } = policy;
  return {
    directory: path.resolve(config.policy.baseModelDirectory),
    engine: 'transformers.js',
    tokenizer,
    contextLength: policy.maxPositions,
    sample: (options) => sampleOneReply(policy, options),
    loadWeights: (weights) => policy.setWeights(weights),
    dispose: () => policy.dispose(),
    ...(run.checkpoint === undefined ? {} : { checkpoint: run.checkpoint }),
    ...(run.systemPrompt ? { systemPrompt: run.systemPrompt } : {}),
  };
}

/** Refuses checkpoint weights that are missing one of the policy's or have another shape, naming the checkpoint. */
export function assertWeightsFit(expected: WeightMap, saved: WeightMap, checkpoint: string): void {
  for (const [name, tensor] of Object.entries(expected)) {
    const found = saved[name];
    if (!found || found.shape.join('x') !== tensor.shape.join('x')) {
      throw new CheckpointError({
        path: checkpoint,
        message: `weight ${name} ${found ? `has shape [${found.shape}]` : 'is missing'}; the model expects [${tensor.shape}]`,
      });
    }
  }
}

async function readRunCheckpoint(
  runDirectory: string,
  checkpointName?: string | null,
): Promise<RunCheckpoint> {
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
    return {
      runDirectory,
      config,
      ...(config.systemPrompt ? { systemPrompt: config.systemPrompt } : {}),
    };
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
  return { runDirectory, config, checkpoint, weights, ...(systemPrompt ? { systemPrompt } : {}) };
}
