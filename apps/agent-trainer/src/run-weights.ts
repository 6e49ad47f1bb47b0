import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Scenario } from '@cohort/core';
import type { WeightMap } from '@cohort/tfjs';
import { loadCheckpoint } from '@cohort/tfjs/node';
import type { GrpoTrainer } from '@cohort/trainer';
import { assertWeightsFit } from './commands/model-source';

/**
 * Loads the policy weights and system prompt of a run's newest checkpoint
 * into a trainer built from the run's config, without touching the run's
 * files (unlike `TrainingRun.resume`). Returns the checkpoint folder, or
 * undefined when the run has none (the trainer keeps its initial weights).
 * A damaged checkpoint throws `CheckpointError` naming the file.
 *
 * @example
 * ```ts
 * const checkpoint = await loadRunWeights(trainer, 'runs/20250101-120000-support');
 * ```
 */
export async function loadRunWeights(
  trainer: GrpoTrainer<Scenario>,
  runDirectory: string,
): Promise<string | undefined> {
  const checkpoints = path.join(runDirectory, 'checkpoints');
  let names: string[];
  try {
    names = (await readdir(checkpoints)).filter((name) => /^step-\d{6,}$/.test(name)).sort();
  } catch {
    return undefined;
  }
  const latest = names.at(-1);
  if (latest === undefined) return undefined;
  const directory = path.join(checkpoints, latest);
  const contents = await loadCheckpoint(directory);
  const weights: WeightMap = {};
  for (const [name, tensor] of Object.entries(contents.weights)) {
    if (!name.startsWith('reference/') && !name.startsWith('value/')) weights[name] = tensor;
  }
  assertWeightsFit(trainer.policy.getWeights(), weights, directory);
  trainer.policy.setWeights(weights);
  const state = (contents.metadata as { trainer?: { systemPrompt?: unknown } } | undefined)
    ?.trainer;
  if (typeof state?.systemPrompt === 'string') trainer.systemPrompt = state.systemPrompt;
  return directory;
}
