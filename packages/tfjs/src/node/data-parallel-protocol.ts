import type * as tf from '@tensorflow/tfjs';
import type { GptModel } from '../gpt-model';
import type { Gpt2ConfigInput } from '../gpt2-config';

/**
 * What a loss module's default export receives in a worker: the worker's
 * replica (holding the leader's latest weights), this worker's share of the
 * items, the values shared by the whole minibatch (for example the global
 * token count that normalizes the loss) and the tfjs instance to build with.
 */
export interface ShardLossContext<Item = unknown, Shared = unknown> {
  model: GptModel;
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
  | { type: 'init'; config: Gpt2ConfigInput; lossModule: string; workerIndex: number }
  | { type: 'weights'; id: number; packed: Float32Array }
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

/** Every trainable variable of `model`, in its stable order, packed into one array. */
export function packVariables(model: GptModel): Float32Array {
  const variables = model.trainableVariables();
  const packed = new Float32Array(model.parameterCount());
  let offset = 0;
  for (const variable of variables) {
    packed.set(variable.dataSync() as Float32Array, offset);
    offset += variable.size;
  }
  return packed;
}
