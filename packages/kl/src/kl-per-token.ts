import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { clampPreservingNaN } from './clamp-preserving-nan';
import {
  assertFiniteRows,
  assertIsTensor,
  assertSameRowsShape,
  assertTensorShape,
  isNested,
  type NumberRows,
} from './internal/shapes';
import type { KlEstimatorName } from './kl-estimator-options';

/**
 * Above this log-ratio `d = logp_ref - logp`, k3 continues along the tangent
 * of `exp` at `d = 50` instead of growing exponentially (float32 `exp`
 * overflows at 88.7): values stay finite in float32 up to `d ~ 6e16`, and
 * gradients keep their sign and stay finite. A token 50 nats less likely
 * under the policy than under the reference is far outside any trust region,
 * so no realistic value changes.
 */
export const K3_LINEAR_ABOVE = 50;

const SERIES_BELOW_FLOAT64 = 1e-3;
const SERIES_BELOW_FLOAT32 = 1e-2;

/** Options of {@link klPerToken} and {@link klPerTokenTensor}. */
export interface KlPerTokenOptions<Values> {
  /** Log-probs of the sampled tokens under the current policy, `log pi(y_t)`. */
  logProbs: Values;
  /** Log-probs of the same tokens under the reference policy, `log pi_ref(y_t)`. */
  refLogProbs: Values;
  /** Which estimator: `'k1'`, `'k2'`, `'k3'` or `'abs'`. */
  estimator: KlEstimatorName;
  /**
   * Optional: clip each per-token estimate to `[-clamp, clamp]` (verl clamps
   * its k3, "low_var_kl", to `[-10, 10]`; NeMo-RL's `output_clamp_value` is
   * 10). Gradients are 0 where it clips.
   */
  clamp?: number;
  /**
   * Optional: clip the log-ratio `d = logp_ref - logp` to
   * `[-logRatioClamp, logRatioClamp]` before the estimator (NeMo-RL's
   * `kl_input_clamp_value`, default 20 there; verl clamps its k3 input to 20
   * too). Gradients are 0 where it clips.
   */
  logRatioClamp?: number;
  /**
   * Optional 0/1 mask of the input's shape: positions with 0 give exactly 0
   * (value and gradient), whatever their inputs hold (padding may be NaN).
   */
  mask?: Values;
  /**
   * Tensors only. verl's `"+"` estimators (`k3+`, `k1+`, `abs+`): the value
   * is the chosen estimator's, the gradient is that of `k2`,
   * `(logp - logp_ref) * grad logp`, whose expectation is the gradient of
   * KL(pi || pi_ref) when the tokens are sampled from pi (Schulman 2020;
   * verl `kl_penalty`). The clamps do not cut that gradient, as in verl.
   */
  straightThrough?: boolean;
}

function validateEstimator(estimator: unknown): asserts estimator is KlEstimatorName {
  if (estimator !== 'k1' && estimator !== 'k2' && estimator !== 'k3' && estimator !== 'abs') {
    throw new InvalidArgumentError({
      argument: 'estimator',
      value: estimator,
      message: "must be 'k1', 'k2', 'k3' or 'abs'",
    });
  }
}

function validateClamp(name: string, clamp: number | undefined): void {
  if (clamp !== undefined && !(typeof clamp === 'number' && clamp > 0 && !Number.isNaN(clamp))) {
    throw new InvalidArgumentError({
      argument: name,
      value: clamp,
      message: 'must be a positive number (or Infinity) when given',
    });
  }
}

function k3OfLogRatio(logRatio: number): number {
  if (Math.abs(logRatio) < SERIES_BELOW_FLOAT64) {
    // expm1(d) - d loses relative precision as d -> 0; the Taylor series does not.
    return (
      logRatio *
      logRatio *
      (0.5 + logRatio * (1 / 6 + logRatio * (1 / 24 + logRatio * (1 / 120 + logRatio / 720))))
    );
  }
  if (logRatio > K3_LINEAR_ABOVE) {
    return (
      Math.expm1(K3_LINEAR_ABOVE) +
      Math.exp(K3_LINEAR_ABOVE) * (logRatio - K3_LINEAR_ABOVE) -
      logRatio
    );
  }
  return Math.expm1(logRatio) - logRatio;
}

function klOfToken(
  logProb: number,
  refLogProb: number,
  estimator: KlEstimatorName,
  clamp: number,
  logRatioClamp: number,
): number {
  const logRatio = Math.min(logRatioClamp, Math.max(-logRatioClamp, refLogProb - logProb));
  let value: number;
  if (estimator === 'k1') value = -logRatio;
  else if (estimator === 'abs') value = Math.abs(logRatio);
  else if (estimator === 'k2') value = 0.5 * logRatio * logRatio;
  else value = k3OfLogRatio(logRatio);
  return Math.min(clamp, Math.max(-clamp, value));
}

/** Validates a 0/1 mask of the shape of `logProbs` and returns a test "is position in". */
function maskedRows(
  mask: NumberRows,
  logProbs: NumberRows,
): (row: number, index: number) => boolean {
  assertFiniteRows('mask', mask);
  assertSameRowsShape('logProbs', logProbs, 'mask', mask);
  const flags = (isNested(mask) ? mask : [mask]) as readonly (readonly number[])[];
  flags.forEach((row, rowIndex) => {
    row.forEach((flag, index) => {
      if (flag !== 0 && flag !== 1) {
        throw new InvalidArgumentError({
          argument: isNested(mask) ? `mask[${rowIndex}][${index}]` : `mask[${index}]`,
          value: flag,
          message: 'must be 0 or 1',
        });
      }
    });
  });
  return (row, index) => flags[row]![index] === 1;
}

/** A copy of `values` with masked-out positions set to 0, so that padding is not validated. */
function zeroMasked(values: NumberRows, isIn: (row: number, index: number) => boolean): NumberRows {
  if (!Array.isArray(values)) return values;
  if (isNested(values)) {
    return values.map((row, rowIndex) =>
      Array.isArray(row) ? row.map((value, index) => (isIn(rowIndex, index) ? value : 0)) : row,
    );
  }
  return (values as readonly number[]).map((value, index) => (isIn(0, index) ? value : 0));
}

/**
 * Per-token estimate of KL(pi || pi_ref) from the log-probs of sampled tokens,
 * on plain arrays (`number[]` or `number[][]`, ragged rows allowed).
 *
 * With `d = logp_ref - logp` (Schulman 2020, "Approximating KL divergence"):
 * - `k1 = -d = logp - logp_ref`
 * - `k2 = d^2 / 2`
 * - `k3 = exp(d) - d - 1`, computed as `expm1(d) - d` (a Taylor series for
 *   `|d| < 1e-3`), and continued linearly above `d = 50` (see
 *   {@link K3_LINEAR_ABOVE}). `k3 >= 0` always.
 * - `abs = |d|` (verl and TRL's PPO `kl_penalty: 'abs'`).
 *
 * `logRatioClamp` clips `d` first (NeMo-RL `calculate_kl`), `clamp` clips the
 * estimate last; `mask` gives 0 on positions with mask 0 (and skips their
 * validation, so padding may hold anything).
 *
 * @throws NonFiniteError when an input is NaN or infinite (naming `logProbs[i][j]`).
 * @throws InvalidArgumentError when the shapes differ or the estimator is unknown.
 * @example
 * ```ts
 * klPerToken({ logProbs: [-1, -0.5], refLogProbs: [-2, -0.5], estimator: 'k3' });
 * // [exp(-1) + 1 - 1, 0] = [0.3679, 0]
 * ```
 */
export function klPerToken(options: KlPerTokenOptions<readonly number[]>): number[];
export function klPerToken(options: KlPerTokenOptions<readonly (readonly number[])[]>): number[][];
export function klPerToken(options: KlPerTokenOptions<NumberRows>): number[] | number[][];
export function klPerToken(options: KlPerTokenOptions<NumberRows>): number[] | number[][] {
  const { estimator, clamp, logRatioClamp, mask, straightThrough } = options;
  validateEstimator(estimator);
  validateClamp('clamp', clamp);
  validateClamp('logRatioClamp', logRatioClamp);
  if (straightThrough !== undefined) {
    throw new InvalidArgumentError({
      argument: 'straightThrough',
      value: straightThrough,
      message:
        'changes only the gradient, which plain arrays do not have; use klPerTokenTensor (the values are the same)',
    });
  }
  let { logProbs, refLogProbs } = options;
  let isIn: (row: number, index: number) => boolean = () => true;
  if (mask !== undefined) {
    if (!Array.isArray(logProbs)) assertFiniteRows('logProbs', logProbs);
    isIn = maskedRows(mask, logProbs);
    logProbs = zeroMasked(logProbs, isIn);
    refLogProbs = zeroMasked(refLogProbs, isIn);
  }
  assertFiniteRows('logProbs', logProbs);
  assertFiniteRows('refLogProbs', refLogProbs);
  assertSameRowsShape('logProbs', logProbs, 'refLogProbs', refLogProbs);
  const bound = clamp ?? Number.POSITIVE_INFINITY;
  const inputBound = logRatioClamp ?? Number.POSITIVE_INFINITY;
  const kl = (logProb: number, refLogProb: number, row: number, index: number) =>
    isIn(row, index) ? klOfToken(logProb, refLogProb, estimator, bound, inputBound) : 0;
  if (isNested(logProbs)) {
    const refRows = refLogProbs as readonly (readonly number[])[];
    return logProbs.map((row, rowIndex) => {
      const refRow = refRows[rowIndex]!;
      return row.map((logProb, index) => kl(logProb, refRow[index]!, rowIndex, index));
    });
  }
  const refRow = refLogProbs as readonly number[];
  return (logProbs as readonly number[]).map((logProb, index) =>
    kl(logProb, refRow[index]!, 0, index),
  );
}

/**
 * The k3 estimator `exp(d) - d - 1` of a log-ratio tensor `d = logp_ref - logp`,
 * stable in float32: a Taylor series for `|d| < 1e-2`, `expm1(d) - d` above,
 * continued along the tangent above `d = 50` so that neither the value nor the
 * gradient overflows. Differentiable.
 *
 * @example
 * ```ts
 * k3OfLogRatioTensor(tf.tensor([0, 1])); // [0, e - 2]
 * ```
 */
export function k3OfLogRatioTensor(logRatio: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    // A 0/1 float blend rather than tf.where: tfjs has no gradient for the
    // comparison op that tf.where would put on the gradient path. Both
    // branches are finite everywhere, so the blend cannot produce 0 * Infinity.
    const small = tf.step(tf.sub(SERIES_BELOW_FLOAT32, tf.abs(logRatio)));
    const clipped = clampPreservingNaN(logRatio, -SERIES_BELOW_FLOAT32, SERIES_BELOW_FLOAT32);
    const series = tf.mul(
      tf.mul(clipped, clipped),
      tf.add(0.5, tf.mul(clipped, tf.add(1 / 6, tf.div(clipped, 24)))),
    );
    const capped = tf.minimum(logRatio, K3_LINEAR_ABOVE);
    const large = tf.sub(
      tf.add(tf.expm1(capped), tf.mul(tf.exp(capped), tf.sub(logRatio, capped))),
      logRatio,
    );
    return tf.add(tf.mul(small, series), tf.mul(tf.sub(1, small), large));
  });
}

/**
 * Per-token estimate of KL(pi || pi_ref) on tensors of any (equal) shape,
 * differentiable with respect to `logProbs` (and `refLogProbs`). Same
 * formulas as {@link klPerToken}; the result has the input shape.
 *
 * Without `mask` every position is computed, padding included: pass `mask`
 * (or use {@link aggregateTokenValues}) before summing. Inputs must be finite
 * where the mask is 1 (see {@link assertFiniteTensor}). `straightThrough`
 * keeps the value and takes the gradient of k2 (verl's `"k3+"`).
 *
 * @throws InvalidArgumentError when the shapes differ or the estimator is unknown.
 * @example
 * ```ts
 * const kl = klPerTokenTensor({ logProbs, refLogProbs, estimator: 'k3' }); // [B, L]
 * ```
 */
export function klPerTokenTensor(options: KlPerTokenOptions<tf.Tensor>): tf.Tensor {
  const { logProbs, refLogProbs, estimator, clamp, logRatioClamp, mask, straightThrough } = options;
  validateEstimator(estimator);
  validateClamp('clamp', clamp);
  validateClamp('logRatioClamp', logRatioClamp);
  if (straightThrough !== undefined && typeof straightThrough !== 'boolean') {
    throw new InvalidArgumentError({
      argument: 'straightThrough',
      value: straightThrough,
      message: 'must be a boolean when given',
    });
  }
  assertIsTensor('logProbs', logProbs);
  assertIsTensor('refLogProbs', refLogProbs);
  assertTensorShape('refLogProbs', refLogProbs, logProbs.shape, 'the shape of logProbs');
  if (mask !== undefined) {
    assertIsTensor('mask', mask);
    assertTensorShape('mask', mask, logProbs.shape, 'the shape of logProbs');
  }
  return tf.tidy(() => {
    const active = mask === undefined ? undefined : tf.greater(mask, 0);
    const zeros = tf.zeros(logProbs.shape);
    // tf.where, not a product: a NaN in padding times 0 would still be NaN.
    const keep = (values: tf.Tensor) =>
      active === undefined
        ? tf.cast(values, 'float32')
        : tf.where(active, tf.cast(values, 'float32'), zeros);
    const policy = keep(logProbs);
    const reference = keep(refLogProbs);
    const estimate = (policyLogProbs: tf.Tensor, referenceLogProbs: tf.Tensor) => {
      let logRatio = tf.sub(referenceLogProbs, policyLogProbs);
      if (logRatioClamp !== undefined && Number.isFinite(logRatioClamp))
        logRatio = clampPreservingNaN(logRatio, -logRatioClamp, logRatioClamp);
      let value: tf.Tensor;
      if (estimator === 'k1') value = tf.neg(logRatio);
      else if (estimator === 'abs') value = tf.abs(logRatio);
      else if (estimator === 'k2') value = tf.mul(0.5, tf.square(logRatio));
      else value = k3OfLogRatioTensor(logRatio);
      if (clamp !== undefined && Number.isFinite(clamp))
        value = clampPreservingNaN(value, -clamp, clamp);
      return active === undefined ? value : tf.where(active, value, zeros);
    };
    if (!straightThrough) return estimate(policy, reference);
    const straight = tf.customGrad((policyLogProbs, referenceLogProbs, save) => {
      const value = estimate(policyLogProbs as tf.Tensor, referenceLogProbs as tf.Tensor);
      (save as tf.GradSaveFunc)([policyLogProbs as tf.Tensor, referenceLogProbs as tf.Tensor]);
      return {
        value,
        // The gradient of k2 = (logp - logp_ref)^2 / 2, unclamped, as verl's straight-through.
        gradFunc: (dy, saved) => {
          const difference = tf.sub(saved[0]!, saved[1]!);
          return [tf.mul(dy, difference), tf.neg(tf.mul(dy, difference))];
        },
      };
    });
    return straight(policy, reference);
  });
}
