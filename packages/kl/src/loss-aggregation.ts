import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { assertIsTensor, assertTensorShape } from './internal/shapes';
import {
  type EmptyRows,
  type LossAggregation,
  LossAggregationSchema,
} from './loss-aggregation-options';

/** Options of {@link aggregateTokenValues}. */
export interface AggregateTokenValuesOptions {
  /** Per-token values `[B, L]` (a loss, a KL, an entropy). */
  values: tf.Tensor;
  /** `[B, L]`, 1 on tokens that count, 0 elsewhere. */
  lossMask: tf.Tensor;
  /** The aggregation mode. */
  mode: LossAggregation;
  /**
   * For `'constant'` and `'seq-mean-token-sum-norm'`: the per-sequence length
   * in the denominator. Default: `L`, the padded length of `values`. Dr. GRPO
   * uses the maximum completion length of the run, which stays fixed while `L`
   * may vary between batches (verl's `loss_scale_factor`).
   */
  constantLength?: number;
  /** For `'prompt-mean'` (required): rows per prompt; groups are contiguous runs of it. */
  groupSize?: number;
  /** For `'micro-batch-token-mean'` (required): rows per micro-batch, contiguous. */
  microBatchSize?: number;
  /**
   * Whether units with no masked token count in the denominator; only for
   * the modes that average over units. Default `'count'`.
   */
  emptyRows?: EmptyRows;
}

const MODES: readonly LossAggregation[] = LossAggregationSchema.options;

const UNIT_MODES: readonly LossAggregation[] = [
  'sequence-mean',
  'seq-mean-token-sum',
  'prompt-mean',
  'micro-batch-token-mean',
];

/** Rows per averaged unit of `mode`: `value` when `mode` is `usedBy` (required), else 1 (`value` refused). */
function rowsPerUnitOf(
  name: string,
  value: number | undefined,
  mode: LossAggregation,
  usedBy: LossAggregation,
  batchSize: number,
): number {
  if (mode !== usedBy) {
    if (value !== undefined) {
      throw new InvalidArgumentError({
        argument: name,
        value,
        message: `is only used by mode '${usedBy}', not '${mode}'`,
      });
    }
    return 1;
  }
  if (value === undefined) {
    throw new InvalidArgumentError({
      argument: name,
      value,
      message: `is required by mode '${mode}'`,
    });
  }
  if (!(Number.isInteger(value) && value >= 1 && batchSize % value === 0)) {
    throw new InvalidArgumentError({
      argument: name,
      value,
      message: `must be an integer >= 1 that divides the batch size ${batchSize}`,
    });
  }
  return value;
}

/**
 * Reduces masked per-token values `x[b, t]` with mask `m[b, t]` to a scalar:
 * - `token-mean`: `sum_bt m x / max(1, sum_bt m)`;
 * - `sequence-mean`: `(1/B') sum_b [sum_t m x / max(1, sum_t m)]`;
 * - `constant`: `sum_bt m x / (B * constantLength)` (Dr. GRPO, Liu et al. 2025);
 * - `seq-mean-token-sum`: `(1/B') sum_b sum_t m x` (verl `agg_loss`);
 * - `seq-mean-token-sum-norm`: `sum_bt m x / constantLength` (verl `agg_loss`);
 * - `prompt-mean`: `(1/P') sum_p [sum_{b in p, t} m x / max(1, sum_{b in p, t} m)]`
 *   over groups of `groupSize` rows (SkyRL `prompt_mean`);
 * - `micro-batch-token-mean`: the same over runs of `microBatchSize` rows
 *   (SkyRL `token_mean_legacy`).
 *
 * `B'` (and `P'`) is the number of rows (groups, micro-batches), or with
 * `emptyRows: 'exclude'` the number of those with a masked token (verl,
 * OpenRLHF); the default `'count'` follows TRL and SkyRL, where an empty row
 * contributes 0 and still counts.
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
  const { values, lossMask, mode, constantLength, groupSize, microBatchSize, emptyRows } = options;
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
  if (!MODES.includes(mode)) {
    throw new InvalidArgumentError({
      argument: 'mode',
      value: mode,
      message: `must be one of ${MODES.map((name) => `'${name}'`).join(', ')}`,
    });
  }
  if (constantLength !== undefined && !(Number.isFinite(constantLength) && constantLength > 0)) {
    throw new InvalidArgumentError({
      argument: 'constantLength',
      value: constantLength,
      message: 'must be a positive finite number',
    });
  }
  if (emptyRows !== undefined) {
    if (emptyRows !== 'count' && emptyRows !== 'exclude') {
      throw new InvalidArgumentError({
        argument: 'emptyRows',
        value: emptyRows,
        message: "must be 'count' or 'exclude'",
      });
    }
    if (emptyRows === 'exclude' && !UNIT_MODES.includes(mode)) {
      throw new InvalidArgumentError({
        argument: 'emptyRows',
        value: emptyRows,
        message: `has no effect with mode '${mode}', which does not average over rows`,
      });
    }
  }
  const [batchSize, maxLength] = values.shape as [number, number];
  const rowsPerUnit =
    rowsPerUnitOf('groupSize', groupSize, mode, 'prompt-mean', batchSize) *
    rowsPerUnitOf('microBatchSize', microBatchSize, mode, 'micro-batch-token-mean', batchSize);
  return tf.tidy(() => {
    const active = tf.greater(lossMask, 0);
    const masked = tf.where(active, tf.cast(values, 'float32'), tf.zerosLike(values).toFloat());
    const maskFloat = tf.cast(active, 'float32');
    if (mode === 'token-mean') {
      return tf.div(tf.sum(masked), tf.maximum(tf.sum(maskFloat), 1)) as tf.Scalar;
    }
    if (mode === 'constant' || mode === 'seq-mean-token-sum-norm') {
      const length = constantLength ?? maxLength;
      const denominator = Math.max(mode === 'constant' ? batchSize * length : length, 1);
      return tf.div(tf.sum(masked), denominator) as tf.Scalar;
    }
    const unitCount = batchSize / rowsPerUnit;
    if (unitCount === 0) return tf.scalar(0);
    const unitSums = tf.sum(tf.reshape(masked, [unitCount, rowsPerUnit * maxLength]), 1);
    const unitCounts = tf.sum(tf.reshape(maskFloat, [unitCount, rowsPerUnit * maxLength]), 1);
    const perUnit =
      mode === 'seq-mean-token-sum' ? unitSums : tf.div(unitSums, tf.maximum(unitCounts, 1));
    const denominator =
      emptyRows === 'exclude'
        ? tf.maximum(tf.sum(tf.cast(tf.greater(unitCounts, 0), 'float32')), 1)
        : tf.scalar(unitCount);
    return tf.div(tf.sum(perUnit), denominator) as tf.Scalar;
  });
}
