/**
 * The two halves of a sharded gradient that every learner shares: the
 * gradient of one shard through a {@link ShardLoss} (run in a worker by
 * {@link DataParallelLearner}, in this thread by
 * {@link SequentialShardLearner}), and the fixed-order float32 sum of the
 * shards' packed gradients. Both learners use these two functions, so the
 * same shards give bit-identical gradients in a worker or in this thread.
 */
import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import {
  type ReplicableModel,
  type ShardLoss,
  trainableParameterCount,
} from './data-parallel-protocol';

/** One shard's gradient, packed in the model's trainable-variable order. */
export interface ShardGradient {
  loss: number;
  packed: Float32Array;
  metrics?: Record<string, number>;
  extras?: unknown;
}

/** Where each trainable variable sits in a packed gradient. */
export interface GradientLayout {
  name: string;
  shape: number[];
  size: number;
}

/** The packed-gradient layout of `model`'s trainable variables, keyed by their Hugging Face names. */
export function gradientLayout(model: ReplicableModel): GradientLayout[] {
  return Object.entries(model.namedVariables()).map(([name, variable]) => ({
    name,
    shape: [...variable.shape],
    size: variable.size,
  }));
}

/**
 * The gradient of `loss` on `items` with respect to `model`'s trainable
 * variables; a variable the loss does not reach gets a zero gradient. Every
 * tensor it makes is disposed before it returns.
 */
export function computeShardGradient(options: {
  model: ReplicableModel;
  loss: ShardLoss;
  items: unknown[];
  shared: unknown;
  shardIndex: number;
}): ShardGradient {
  const { model } = options;
  const variables = model.trainableVariables();
  let metrics: Record<string, number> | undefined;
  let extras: unknown;
  const { value, grads } = tf.variableGrads(() => {
    const result = options.loss({
      model,
      items: options.items,
      shared: options.shared,
      tf,
      workerIndex: options.shardIndex,
    });
    if (result instanceof tf.Tensor) return result;
    metrics = result.metrics;
    extras = result.extras;
    return result.loss;
  }, variables);
  const packed = new Float32Array(trainableParameterCount(model));
  let offset = 0;
  for (const variable of variables) {
    const gradient = grads[variable.name];
    if (gradient !== undefined) packed.set(gradient.dataSync() as Float32Array, offset);
    offset += variable.size;
  }
  const loss = value.dataSync()[0] as number;
  tf.dispose([value, grads]);
  return {
    loss,
    packed,
    ...(metrics === undefined ? {} : { metrics }),
    ...(extras === undefined ? {} : { extras }),
  };
}

/**
 * Refuses a gradient request before `setWeights` (`weights` undefined) or
 * with no items, naming the field.
 */
export function assertGradientRequest<T>(
  weights: T | undefined,
  items: readonly unknown[],
): asserts weights is T {
  if (weights === undefined) {
    throw new InvalidArgumentError({
      argument: 'weights',
      value: undefined,
      message: 'call setWeights(model) before computeGradients',
    });
  }
  if (items.length === 0) {
    throw new InvalidArgumentError({
      argument: 'batch.items',
      value: items,
      message: 'must hold at least one item',
    });
  }
}

/**
 * Shard `index` of `count` over `total` items: `[floor(index total / count),
 * floor((index + 1) total / count))`, the split both learners use.
 */
export function shardRange(index: number, count: number, total: number): [number, number] {
  return [Math.floor((index * total) / count), Math.floor(((index + 1) * total) / count)];
}

/**
 * The minibatch gradient: the shards' losses, metrics and packed gradients
 * summed in shard order in float32 (shards with no items are left out), and
 * the gradients unpacked as tensors that the caller owns.
 */
export function sumShardGradients(
  layout: readonly GradientLayout[],
  shards: readonly (ShardGradient | undefined)[],
): {
  loss: number;
  gradients: tf.NamedTensorMap;
  metrics: Record<string, number>;
  extras: unknown[];
} {
  const total = new Float32Array(layout.reduce((sum, entry) => sum + entry.size, 0));
  let loss = 0;
  const metrics: Record<string, number> = {};
  const extras: unknown[] = [];
  for (const shard of shards) {
    if (shard === undefined) continue;
    loss += shard.loss;
    for (const [name, value] of Object.entries(shard.metrics ?? {}))
      metrics[name] = (metrics[name] ?? 0) + value;
    if (shard.extras !== undefined) extras.push(shard.extras);
    const packed = shard.packed;
    for (let index = 0; index < total.length; index++) {
      total[index] = (total[index] as number) + (packed[index] as number);
    }
  }
  const gradients: tf.NamedTensorMap = {};
  let offset = 0;
  for (const { name, shape, size } of layout) {
    gradients[name] = tf.tensor(total.subarray(offset, offset + size), shape);
    offset += size;
  }
  return { loss, gradients, metrics, extras };
}
