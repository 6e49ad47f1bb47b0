import type * as tf from '@tensorflow/tfjs';
import type { GptModel } from '../gpt-model';
import type { Gpt2ConfigInput } from '../gpt2-config';
import type { LlamaConfig } from '../llama/llama-config';
import type { LlamaModel } from '../llama/llama-model';
import type { LoraOptions } from '../llama/lora-options';
import type { WeightMap } from '../weights';

/** A model that {@link DataParallelLearner} can replicate in its workers. */
export type ReplicableModel = GptModel | LlamaModel;

/** What a worker builds its replica from. */
export type ReplicaSpecification =
  | { family: 'gpt2'; config: Gpt2ConfigInput }
  | { family: 'llama'; config: LlamaConfig; lora?: LoraOptions };

/**
 * What a loss module's default export receives in a worker: the worker's
 * replica (holding the leader's latest weights), this worker's share of the
 * items, the values shared by the whole minibatch (for example the global
 * token count that normalizes the loss) and the tfjs instance to build with.
 */
export interface ShardLossContext<Item = unknown, Shared = unknown> {
  model: ReplicableModel;
  items: Item[];
  shared: Shared;
  tf: typeof tf;
  /** Index of this worker, 0-based. */
  workerIndex: number;
}

/**
 * What a loss module may return besides the bare loss: `metrics` (plain
 * numbers, scaled like the loss so that the leader's sum over shards, in
 * worker order, is the minibatch's value) and `extras` (any
 * structured-cloneable value, such as per-row log-probs, handed back in
 * worker order).
 */
export interface ShardLossResult {
  loss: tf.Scalar;
  metrics?: Record<string, number>;
  extras?: unknown;
}

/**
 * The default export of a loss module: this shard's part of the minibatch
 * loss. The parts must add up to the minibatch loss (normalize by global
 * counts from `shared`, never by the shard's own), so that the sum of the
 * shards' gradients is the minibatch gradient.
 */
export type ShardLoss<Item = unknown, Shared = unknown> = (
  context: ShardLossContext<Item, Shared>,
) => tf.Scalar | ShardLossResult;

/** Leader to worker. */
export type LeaderMessage =
  | { type: 'init'; replica: ReplicaSpecification; lossModule: string; workerIndex: number }
  | { type: 'weights'; id: number; packed: Float32Array }
  /** The weights that do not train (a LoRA model's base), sent once per replica. */
  | { type: 'frozen'; id: number; weights: WeightMap }
  | { type: 'gradients'; id: number; items: unknown[]; shared: unknown };

/** Worker to leader. */
export type WorkerMessage =
  | { type: 'ready'; parameterCount: number }
  | { type: 'done'; id: number }
  | {
      type: 'gradients';
      id: number;
      loss: number;
      packed: Float32Array;
      metrics?: Record<string, number>;
      extras?: unknown;
    }
  | { type: 'error'; id: number | null; name: string; message: string; stack?: string };

/** Number of scalars in `model`'s trainable variables (a LoRA model's adapters only). */
export function trainableParameterCount(model: ReplicableModel): number {
  return model.trainableVariables().reduce((sum, variable) => sum + variable.size, 0);
}

/** Whether `model` has weights that do not train and must reach a replica on their own (a LoRA model's base). */
export function hasFrozenWeights(model: ReplicableModel): model is LlamaModel {
  return 'lora' in model && model.lora !== undefined;
}

/** Every trainable variable of `model`, in its stable order, packed into one array. */
export function packVariables(model: ReplicableModel): Float32Array {
  const variables = model.trainableVariables();
  const packed = new Float32Array(trainableParameterCount(model));
  let offset = 0;
  for (const variable of variables) {
    packed.set(variable.dataSync() as Float32Array, offset);
    offset += variable.size;
  }
  return packed;
}
