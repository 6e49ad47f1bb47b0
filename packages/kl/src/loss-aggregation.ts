import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { assertIsTensor, assertTensorShape } from './internal/shapes';
import type { LossAggregation } from './loss-aggregation-options';

/** Options of {@link aggregateTokenValues}. */
export interface AggregateTokenValuesOptions {
  /** Per-token values `[B, L]` (a loss, a KL, an entropy). */
  values: tf.Tensor;
  /** `[B, L]`, 1 on tokens that count, 0 elsewhere. */
  lossMask: tf.Tensor;
  /** The aggregation mode. */
  mode: LossAggregation;
  /**
   * For `'constant'`: the per-sequence length in the denominator `B * constantLength`.
   * Default: `L`, the padded length of `values`. Dr. GRPO uses the maximum
   * completion length of the run, which stays fixed while `L` may vary between batches.
   */
  constantLength?: number;
}

/**
 * Reduces masked per-token values `x[b, t]` with mask `m[b, t]` to a scalar:
 * - `token-mean`: `sum_bt m x / max(1, sum_bt m)`;
 * - `sequence-mean`: `(1/B) sum_b [sum_t m x / max(1, sum_t m)]`; a row with no
 *   masked token contributes 0 and still counts in `B` (TRL's convention);
 * - `constant`: `sum_bt m x / (B * constantLength)` (Dr. GRPO, Liu et al. 2025).
 *
 * Positions with mask 0 are replaced by 0 with `tf.where`, so NaN or infinite
 * padding never leaks into the value or the gradient. An empty batch (`B = 0`)
 * or an all-zero mask gives 0. Differentiable with respect to `values`.
 *
 * @example
 * ```ts
 * const loss = aggregateTokenValues({ values: perTokenLoss, lossMask, mode: 'sequence-mean' });
 * ```
 */
export function aggregateTokenValues(options: AggregateTokenValuesOptions): tf.Scalar {
  const { values, lossMask, mode, constantLength } = options;
  assertIsTensor('values', values);
  assertIsTensor('lossMask', lossMask);
  if (values.rank !== 2) {
    throw new InvalidArgumentError({
      argument: 'values',
      value: `[${values.shape.join(', ')}]`,
      message: 'must have rank 2, [batch, maxLength]',
    });
  }
  assertTensorShape('lossMask', lossMask, values.shape, 'the shape of values, [batch, maxLength]');
  if (mode !== 'token-mean' && mode !== 'sequence-mean' && mode !== 'constant') {
    throw new InvalidArgumentError({
      argument: 'mode',
      value: mode,
      message: "must be 'token-mean', 'sequence-mean' or 'constant'",
    });
  }
  if (constantLength !== undefined && !(Number.isFinite(constantLength) && constantLength > 0)) {
    throw new InvalidArgumentError({
      argument: 'constantLength',
      value: constantLength,
      message: 'must be a positive finite number',
    });
  }
  const [batchSize, maxLength] = values.shape as [number, number];
  return tf.tidy(() => {
    const active = tf.greater(lossMask, 0);
    const masked = tf.where(active, tf.cast(values, 'float32'), tf.zerosLike(values).toFloat());
    const maskFloat = tf.cast(active, 'float32');
    if (mode === 'token-mean') {
      return tf.div(tf.sum(masked), tf.maximum(tf.sum(maskFloat), 1)) as tf.Scalar;
    }
    if (mode === 'sequence-mean') {
      const perSequence = tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(maskFloat, 1), 1));
      return tf.div(tf.sum(perSequence), Math.max(batchSize, 1)) as tf.Scalar;
    }
    const denominator = Math.max(batchSize * (constantLength ?? maxLength), 1);
    return tf.div(tf.sum(masked), denominator) as tf.Scalar;
  });
}
