import { assertOneOf, InvalidArgumentError, NonFiniteError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';

import type { ValueLossAggregation } from './value-loss-options';

/** Options of {@link valueLoss}. Tensors are `[batch, maxLength]` (per token) or `[batch]` (per sequence). */
export interface ValueLossOptions {
  /** Predicted values V, with gradient. */
  values: tf.Tensor;
  /** Values of the policy that collected the data, V_old; needed when `clipRange` is set. */
  oldValues?: tf.Tensor;
  /** Targets R (GAE returns), same shape as `values`. */
  returns: tf.Tensor;
  /** 0/1 loss mask, same shape as `values`. */
  mask: tf.Tensor;
  /** Clip V within `V_old +- clipRange` (PPO). Absent: no clipping. */
  clipRange?: number;
  /** Default `'token-mean'`; see {@link ValueLossAggregation}. */
  aggregation?: ValueLossAggregation;
  /** Denominator of `'constant'` aggregation; default `batch * maxLength`. */
  constantNormalizer?: number;
  /**
   * For `'sequence-mean'`: whether a row with no masked position counts in the
   * number of sequences, `'count'` (default, as the policy loss of
   * `@cohort/objectives` and TRL) or `'exclude'` (verl `agg_loss`, OpenRLHF).
   */
  emptyRows?: 'count' | 'exclude';
  /**
   * Read the inputs back and refuse NaN, infinities and masks that are not 0/1
   * with a typed error (default true). Costs one read of each input tensor.
   */
  checkInputs?: boolean;
}

/** Diagnostics of {@link valueLoss}, as plain numbers over the masked positions. */
export interface ValueLossMetrics {
  /** Fraction of masked positions where the clipped term is the larger one (0 without clipping). */
  clipFraction: number;
  /** Masked mean of V. */
  meanValue: number;
  /** Masked mean of R. */
  meanReturn: number;
  /** Masked mean of the unclipped squared error (V - R)^2. */
  meanSquaredError: number;
  /** Number of masked positions. */
  tokenCount: number;
}

/** Result of {@link valueLoss}. */
export interface ValueLossResult {
  /** Scalar loss, differentiable with respect to `values`. The caller disposes it. */
  loss: tf.Scalar;
  metrics: ValueLossMetrics;
}

function describeIndex(shape: number[], flatIndex: number): string {
  if (shape.length === 1) return `[${flatIndex}]`;
  const width = shape[1]!;
  return `[${Math.floor(flatIndex / width)}][${flatIndex % width}]`;
}

function assertFiniteTensor(name: string, tensor: tf.Tensor): void {
  const data = tensor.dataSync();
  for (let index = 0; index < data.length; index++) {
    const value = data[index]!;
    if (!Number.isFinite(value)) {
      throw new NonFiniteError({ quantity: `${name}${describeIndex(tensor.shape, index)}`, value });
    }
  }
}

function assertBinaryTensor(name: string, tensor: tf.Tensor): void {
  const data = tensor.dataSync();
  for (let index = 0; index < data.length; index++) {
    const value = data[index]!;
    if (value !== 0 && value !== 1) {
      throw new InvalidArgumentError({
        argument: `${name}${describeIndex(tensor.shape, index)}`,
        value,
        message: 'must be 0 or 1',
      });
    }
  }
}

function assertSameShape(name: string, tensor: tf.Tensor, reference: tf.Tensor): void {
  if (!(tensor instanceof tf.Tensor)) {
    throw new InvalidArgumentError({
      argument: name,
      value: tensor,
      message: 'must be a tf.Tensor',
    });
  }
  if (!tf.util.arraysEqual(tensor.shape, reference.shape)) {
    throw new InvalidArgumentError({
      argument: `${name}.shape`,
      value: tensor.shape,
      message: `must equal values.shape = [${reference.shape.join(', ')}]`,
    });
  }
}

/**
 * The PPO value loss with optional clipping around the old values (Schulman et
 * al. 2017, as implemented in OpenAI baselines `ppo2`, verl and OpenRLHF):
 *
 * `l_t = 0.5 * max((V_t - R_t)^2, (clip(V_t, V_old_t - c, V_old_t + c) - R_t)^2)`,
 *
 * or `l_t = 0.5 * (V_t - R_t)^2` when `clipRange` is absent, then reduced over
 * the mask: `'token-mean'` `sum(l * m) / sum(m)`; `'sequence-mean'` the mean over
 * sequences of `sum_t(l m) / max(1, sum_t(m))`, every row counting (TRL, and the
 * policy loss of `@cohort/objectives`), or with `emptyRows: 'exclude'` only
 * the rows that have a masked position (verl, OpenRLHF);
 * `'constant'` `sum(l * m) / constantNormalizer`. A mask with no 1 gives loss 0.
 *
 * @throws InvalidArgumentError naming the tensor when shapes differ, a mask is not 0/1,
 *   or `clipRange` is set without `oldValues`.
 * @throws NonFiniteError naming `values[b][t]` (and so on) when an input is NaN or infinite.
 *
 * @example
 * ```ts
 * const values = tf.variable(tf.tensor2d([[0.5, 1.0]]));
 * const { loss } = valueLoss({ values, oldValues: tf.tensor2d([[0.4, 0.2]]), returns: tf.tensor2d([[1, 0]]),
 *   mask: tf.tensor2d([[1, 1]]), clipRange: 0.2 });
 * // token 0: max(0.25, 0.25) = 0.25; token 1: max(1, 0.16) = 1; loss = 0.5 * 1.25 / 2 = 0.3125
 * ```
 */
export function valueLoss(options: ValueLossOptions): ValueLossResult {
  const {
    values,
    oldValues,
    returns,
    mask,
    clipRange,
    aggregation = 'token-mean',
    constantNormalizer,
    emptyRows,
    checkInputs = true,
  } = options;
  if (!(values instanceof tf.Tensor)) {
    throw new InvalidArgumentError({
      argument: 'values',
      value: values,
      message: 'must be a tf.Tensor',
    });
  }
  if (values.rank !== 1 && values.rank !== 2) {
    throw new InvalidArgumentError({
      argument: 'values.shape',
      value: values.shape,
      message: 'must be [batch] or [batch, maxLength]',
    });
  }
  assertSameShape('returns', returns, values);
  assertSameShape('mask', mask, values);
  if (clipRange !== undefined) {
    if (typeof clipRange !== 'number' || !Number.isFinite(clipRange) || clipRange <= 0) {
      throw new InvalidArgumentError({
        argument: 'clipRange',
        value: clipRange,
        message: 'must be a finite number > 0, or absent for no clipping',
      });
    }
    if (oldValues === undefined) {
      throw new InvalidArgumentError({
        argument: 'oldValues',
        value: oldValues,
        message: 'is needed when clipRange is set',
      });
    }
  }
  if (oldValues !== undefined) assertSameShape('oldValues', oldValues, values);
  assertOneOf('aggregation', aggregation, ['token-mean', 'sequence-mean', 'constant'] as const);
  if (emptyRows !== undefined) {
    assertOneOf('emptyRows', emptyRows, ['count', 'exclude'] as const);
    if (aggregation !== 'sequence-mean' && emptyRows === 'exclude') {
      throw new InvalidArgumentError({
        argument: 'emptyRows',
        value: emptyRows,
        message: `has no effect with aggregation '${aggregation}', only with 'sequence-mean'`,
      });
    }
  }
  if (
    constantNormalizer !== undefined &&
    (typeof constantNormalizer !== 'number' ||
      !Number.isFinite(constantNormalizer) ||
      constantNormalizer <= 0)
  ) {
    throw new InvalidArgumentError({
      argument: 'constantNormalizer',
      value: constantNormalizer,
      message: 'must be a finite number > 0',
    });
  }
  if (checkInputs) {
    assertFiniteTensor('values', values);
    assertFiniteTensor('returns', returns);
    if (oldValues !== undefined) assertFiniteTensor('oldValues', oldValues);
    assertBinaryTensor('mask', mask);
  }

  const [loss, metricsTensor] = tf.tidy(() => {
    const asMatrix = (tensor: tf.Tensor) =>
      tf.cast(tensor.rank === 1 ? tensor.expandDims(1) : tensor, 'float32') as tf.Tensor2D;
    const predicted = asMatrix(values);
    const target = asMatrix(returns);
    const weights = asMatrix(mask);
    const unclipped = tf.square(tf.sub(predicted, target));
    let perToken = unclipped;
    let clipped = tf.zerosLike(unclipped);
    if (clipRange !== undefined && oldValues !== undefined) {
      const previous = asMatrix(oldValues);
      const clippedValues = tf.minimum(
        tf.maximum(predicted, tf.sub(previous, clipRange)),
        tf.add(previous, clipRange),
      );
      const clippedError = tf.square(tf.sub(clippedValues, target));
      // On ties tf.maximum sends the gradient to its first argument, the unclipped error.
      perToken = tf.maximum(unclipped, clippedError);
      clipped = tf.cast(tf.greater(clippedError, unclipped), 'float32');
    }
    const maskedLoss = tf.mul(tf.mul(perToken, 0.5), weights);
    const tokenCount = tf.sum(weights);
    const safeCount = tf.maximum(tokenCount, 1);
    let reduced: tf.Scalar;
    if (aggregation === 'token-mean') {
      reduced = tf.div(tf.sum(maskedLoss), safeCount);
    } else if (aggregation === 'sequence-mean') {
      const perSequenceCount = tf.sum(weights, 1);
      const perSequence = tf.div(tf.sum(maskedLoss, 1), tf.maximum(perSequenceCount, 1));
      const sequences =
        emptyRows === 'exclude'
          ? tf.sum(tf.cast(tf.greater(perSequenceCount, 0), 'float32'))
          : tf.scalar(predicted.shape[0]);
      reduced = tf.div(tf.sum(perSequence), tf.maximum(sequences, 1));
    } else {
      const normalizer = constantNormalizer ?? predicted.shape[0] * predicted.shape[1];
      reduced = tf.div(tf.sum(maskedLoss), Math.max(normalizer, 1));
    }
    const maskedMean = (tensor: tf.Tensor) => tf.div(tf.sum(tf.mul(tensor, weights)), safeCount);
    const metrics = tf.stack([
      maskedMean(clipped),
      maskedMean(predicted),
      maskedMean(target),
      maskedMean(unclipped),
      tokenCount,
    ]);
    return [reduced, metrics] as [tf.Scalar, tf.Tensor1D];
  });
  const [clipFraction, meanValue, meanReturn, meanSquaredError, tokenCount] =
    metricsTensor.dataSync();
  metricsTensor.dispose();
  return {
    loss,
    metrics: {
      clipFraction: clipFraction!,
      meanValue: meanValue!,
      meanReturn: meanReturn!,
      meanSquaredError: meanSquaredError!,
      tokenCount: tokenCount!,
    },
  };
}
