import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from '../custom-gradient';

/**
 * Grouped-query attention's head sharing (Ainslie et al. 2023): repeats each
 * key/value head of `x [B, Hkv, T, d]` `groups` times, giving
 * `[B, Hkv * groups, T, d]` where head `j * groups + k` is head `j`
 * (transformers' `repeat_kv`). The gradient sums the copies back. One op,
 * because tfjs has no gradient for the rank-5 tile that the plain form needs.
 *
 * @example
 * ```ts
 * repeatKeyValueHeads(tf.ones([1, 2, 3, 4]) as tf.Tensor4D, 2).shape; // [1, 4, 3, 4]
 * ```
 */
export function repeatKeyValueHeads(x: tf.Tensor4D, groups: number): tf.Tensor4D {
  if (!Number.isInteger(groups) || groups < 1) {
    throw new InvalidArgumentError({
      argument: 'groups',
      value: groups,
      message: 'must be a positive integer',
    });
  }
  if (groups === 1) return x;
  const [batchSize, count, length, size] = x.shape;
  const repeat = customGradient((input: tf.Tensor4D) => ({
    value: tf.tidy(() =>
      input
        .reshape([batchSize * count, 1, length * size])
        .tile([1, groups, 1])
        .reshape([batchSize, count * groups, length, size]),
    ) as tf.Tensor4D,
    gradFunc: (dy: tf.Tensor4D) =>
      dy
        .reshape([batchSize * count, groups, length * size])
        .sum(1)
        .reshape(x.shape),
  }));
  return repeat(x);
}
