import { type KlEstimator, parseWithSchema } from '@cohort/core';
import type * as tf from '@tensorflow/tfjs';
import { type KlEstimatorOptions, KlEstimatorOptionsSchema } from './kl-estimator-options';
import { klPerToken, klPerTokenTensor } from './kl-per-token';

/**
 * A built-in {@link KlEstimator} instance: `k1`, `k2`, `k3` or `abs` (Schulman
 * 2020, "Approximating KL divergence"; the formulas are those of
 * {@link klPerToken}), on plain arrays and on tensors. A trainer config's
 * estimator name resolves to this; a user's own `KlEstimator` plugs in the
 * same way.
 *
 * @throws ValidationError naming the bad option.
 * @example
 * ```ts
 * const k3 = createKlEstimator({ name: 'k3' });
 * k3.estimate({ logProbs: [-1, -0.5], refLogProbs: [-2, -0.5] }); // [exp(-1), 0] = [0.3679, 0]
 * ```
 */
export function createKlEstimator(options: KlEstimatorOptions): KlEstimator<tf.Tensor> {
  const { name, clamp, logRatioClamp } = parseWithSchema(
    KlEstimatorOptionsSchema,
    options,
    'KL estimator options',
  );
  const clamps = {
    ...(clamp === undefined ? {} : { clamp }),
    ...(logRatioClamp === undefined ? {} : { logRatioClamp }),
  };
  return {
    name,
    estimate: ({ logProbs, refLogProbs }) =>
      klPerToken({ logProbs, refLogProbs, estimator: name, ...clamps }),
    estimateTensor: ({ logProbs, refLogProbs }) =>
      klPerTokenTensor({ logProbs, refLogProbs, estimator: name, ...clamps }),
  };
}
