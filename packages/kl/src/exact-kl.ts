import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import {
  assertFiniteRows,
  assertIsTensor,
  assertSameRowsShape,
  assertTensorShape,
  isNested,
  type NumberRows,
} from './internal/shapes';

/** Options of {@link exactKl} and {@link exactKlTensor}. */
export interface ExactKlOptions<Logits, Mask> {
  /** Logits of the current policy over the vocabulary (last axis). */
  logits: Logits;
  /** Logits of the reference policy, same shape. */
  refLogits: Logits;
  /** Optional per-position mask (shape of `logits` without the vocabulary axis): 0 gives KL 0. */
  mask?: Mask;
}

function logSoftmaxRow(logits: readonly number[]): number[] {
  let maximum = Number.NEGATIVE_INFINITY;
  for (const value of logits) if (value > maximum) maximum = value;
  let total = 0;
  for (const value of logits) total += Math.exp(value - maximum);
  const logNormalizer = maximum + Math.log(total);
  return logits.map((value) => value - logNormalizer);
}

function exactKlRow(logits: readonly number[], refLogits: readonly number[]): number {
  const logP = logSoftmaxRow(logits);
  const logQ = logSoftmaxRow(refLogits);
  let kl = 0;
  for (let index = 0; index < logP.length; index++) {
    const logPValue = logP[index]!;
    kl += Math.exp(logPValue) * (logPValue - logQ[index]!);
  }
  // Round-off can leave -1e-17 where the distributions agree; KL is never negative.
  return Math.max(0, kl);
}

/**
 * Exact KL(p || p_ref) between two categorical distributions given as logits,
 * on plain arrays: one distribution (`number[]`, returns a number) or one per
 * row (`number[][]`, returns `number[]`).
 *
 * `KL = sum_v p_v (log p_v - log p_ref_v)` with `log p = logits - logsumexp(logits)`
 * (log-softmax with the maximum subtracted, so logits of 1e4 do not overflow).
 *
 * @throws NonFiniteError on NaN or infinite logits; InvalidArgumentError on shape mismatch.
 * @example
 * ```ts
 * exactKl({ logits: [0, 0], refLogits: [Math.log(3), 0] }); // 0.5*log(0.5/0.75) + 0.5*log(0.5/0.25) = 0.1438
 * ```
 */
export function exactKl(options: ExactKlOptions<readonly number[], undefined>): number;
export function exactKl(
  options: ExactKlOptions<readonly (readonly number[])[], readonly number[]>,
): number[];
export function exactKl(options: {
  logits: NumberRows;
  refLogits: NumberRows;
  mask?: readonly number[] | undefined;
}): number | number[] {
  const { logits, refLogits, mask } = options;
  assertFiniteRows('logits', logits);
  assertFiniteRows('refLogits', refLogits);
  assertSameRowsShape('logits', logits, 'refLogits', refLogits);
  if (!isNested(logits)) {
    if (logits.length === 0) {
      throw new InvalidArgumentError({
        argument: 'logits',
        value: logits,
        message: 'must not be empty',
      });
    }
    if (mask !== undefined) {
      throw new InvalidArgumentError({
        argument: 'mask',
        value: mask,
        message: 'applies to a batch of rows (number[][] logits), not to a single distribution',
      });
    }
    return exactKlRow(logits as readonly number[], refLogits as readonly number[]);
  }
  if (mask !== undefined) {
    assertFiniteRows('mask', mask);
    if (mask.length !== logits.length) {
      throw new InvalidArgumentError({
        argument: 'mask',
        value: mask,
        message: `must have one entry per row of logits: logits has ${logits.length} rows, mask has length ${mask.length}`,
      });
    }
  }
  const refRows = refLogits as readonly (readonly number[])[];
  return logits.map((row, index) => {
    if (row.length === 0) {
      throw new InvalidArgumentError({
        argument: `logits[${index}]`,
        value: row,
        message: 'must not be empty',
      });
    }
    if (mask !== undefined && mask[index] === 0) return 0;
    return exactKlRow(row, refRows[index]!);
  });
}

/**
 * Exact KL(p || p_ref) over the last axis of logits tensors `[..., vocab]`,
 * differentiable with respect to both. Returns a tensor of shape `[...]`
 * (one KL per position), 0 where `mask` is 0.
 *
 * `KL = sum_v exp(log p_v) (log p_v - log p_ref_v)`, `log p = logSoftmax(logits)`.
 * Logits must be finite; use a large negative number (e.g. -1e9) rather than
 * `-Infinity` to exclude tokens.
 *
 * @throws InvalidArgumentError when shapes differ.
 * @example
 * ```ts
 * const kl = exactKlTensor({ logits, refLogits, mask: lossMask }); // logits [B, L, V] -> kl [B, L]
 * ```
 */
export function exactKlTensor(options: ExactKlOptions<tf.Tensor, tf.Tensor>): tf.Tensor {
  const { logits, refLogits, mask } = options;
  assertIsTensor('logits', logits);
  assertIsTensor('refLogits', refLogits);
  if (logits.rank < 1 || logits.shape[logits.rank - 1] === 0) {
    throw new InvalidArgumentError({
      argument: 'logits',
      value: `[${logits.shape.join(', ')}]`,
      message: 'must have a non-empty last (vocabulary) axis',
    });
  }
  assertTensorShape('refLogits', refLogits, logits.shape, 'the shape of logits');
  if (mask !== undefined) {
    assertIsTensor('mask', mask);
    assertTensorShape(
      'mask',
      mask,
      logits.shape.slice(0, -1),
      'the shape of logits without the vocabulary axis',
    );
  }
  return tf.tidy(() => {
    const logP = tf.logSoftmax(tf.cast(logits, 'float32'));
    const logQ = tf.logSoftmax(tf.cast(refLogits, 'float32'));
    const perPosition = tf.maximum(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1), 0);
    if (mask === undefined) return perPosition;
    return tf.where(tf.greater(mask, 0), perPosition, tf.zerosLike(perPosition));
  });
}
