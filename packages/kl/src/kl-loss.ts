import type * as tf from '@tensorflow/tfjs';
import type { KlEstimatorName } from './kl-estimator-options';
import { klPerTokenTensor } from './kl-per-token';
import { aggregateTokenValues } from './loss-aggregation';
import type { EmptyRows, LossAggregation } from './loss-aggregation-options';

/** Options of {@link klLoss}. */
export interface KlLossOptions {
  /** `[B, L]` log-probs of the sampled tokens under the current policy (with gradient). */
  logProbs: tf.Tensor;
  /** `[B, L]` log-probs of the same tokens under the reference policy. */
  refLogProbs: tf.Tensor;
  /** `[B, L]`, 1 on agent tokens. */
  lossMask: tf.Tensor;
  /** Default `'k3'`. */
  estimator?: KlEstimatorName;
  /** Default `'token-mean'`. */
  aggregation?: LossAggregation;
  /** See {@link aggregateTokenValues}. */
  constantLength?: number;
  /** See {@link klPerTokenTensor}. */
  clamp?: number;
  /** See {@link klPerTokenTensor}. */
  logRatioClamp?: number;
  /** See {@link klPerTokenTensor}: the value of `estimator`, the gradient of k2 (verl's `"k3+"`). */
  straightThrough?: boolean;
  /** See {@link aggregateTokenValues}. */
  groupSize?: number;
  /** See {@link aggregateTokenValues}. */
  microBatchSize?: number;
  /** See {@link aggregateTokenValues}. */
  emptyRows?: EmptyRows;
}

/**
 * The KL-to-reference term of a loss: the per-token estimate aggregated over
 * the loss mask, `aggregate_m(k(logp, logp_ref))`. Multiply by the KL
 * coefficient and add it to the policy loss (GRPO, Shao et al. 2024, eq. 3,
 * uses k3 with token-level aggregation inside each sequence).
 *
 * @example
 * ```ts
 * const total = tf.add(policyLoss, tf.mul(beta, klLoss({ logProbs, refLogProbs, lossMask })));
 * ```
 */
export function klLoss(options: KlLossOptions): tf.Scalar {
  const perToken = klPerTokenTensor({
    logProbs: options.logProbs,
    refLogProbs: options.refLogProbs,
    estimator: options.estimator ?? 'k3',
    ...(options.clamp === undefined ? {} : { clamp: options.clamp }),
    ...(options.logRatioClamp === undefined ? {} : { logRatioClamp: options.logRatioClamp }),
    ...(options.straightThrough === undefined ? {} : { straightThrough: options.straightThrough }),
  });
  try {
    return aggregateTokenValues({
      values: perToken,
      lossMask: options.lossMask,
      mode: options.aggregation ?? 'token-mean',
      ...(options.constantLength === undefined ? {} : { constantLength: options.constantLength }),
      ...(options.groupSize === undefined ? {} : { groupSize: options.groupSize }),
      ...(options.microBatchSize === undefined ? {} : { microBatchSize: options.microBatchSize }),
      ...(options.emptyRows === undefined ? {} : { emptyRows: options.emptyRows }),
    });
  } finally {
    perToken.dispose();
  }
}
