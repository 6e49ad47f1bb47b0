import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';

/** Options of {@link sampledEntropy}. */
export interface SampledEntropyOptions {
  /** `[B, L]` log-probs of the sampled tokens under the current policy. */
  logProbs: tf.Tensor;
  /**
   * `[B, L]` log-probs of the same tokens under the policy that sampled them.
   * Default: `logProbs` (the tokens were sampled from the current policy).
   */
  samplerLogProbs?: tf.Tensor;
  /** `[B, L]`, 1 on the tokens that count. */
  mask: tf.Tensor;
}

/**
 * An estimate of the current policy's per-token entropy from the sampled
 * tokens alone, without the full distribution (NeMo-RL's `approx_entropy`):
 *
 * `H ~ -(1 / sum m) sum_bt m (pi / pi_sampler) log pi`,
 *
 * the importance-weighted mean of `-log pi(y_t)` over tokens drawn from the
 * sampler; unbiased for the entropy averaged over the visited states. A scalar
 * (no gradient is meant: it is a diagnostic, or a controller's input). An
 * all-zero mask gives 0.
 *
 * @example
 * ```ts
 * sampledEntropy({ logProbs, mask }).dataSync()[0]; // mean of -log pi over masked tokens
 * ```
 */
export function sampledEntropy(options: SampledEntropyOptions): tf.Scalar {
  const { logProbs, samplerLogProbs, mask } = options;
  for (const [name, tensor] of [
    ['logProbs', logProbs],
    ['mask', mask],
    ...(samplerLogProbs === undefined ? [] : [['samplerLogProbs', samplerLogProbs] as const]),
  ] as const) {
    if (!(tensor instanceof tf.Tensor) || tensor.rank !== 2) {
      throw new InvalidArgumentError({
        argument: name,
        value: tensor instanceof tf.Tensor ? `[${tensor.shape.join(', ')}]` : tensor,
        message: 'must be a rank-2 tf.Tensor [batch, maxLength]',
      });
    }
    if (tensor.shape[0] !== logProbs.shape[0] || tensor.shape[1] !== logProbs.shape[1]) {
      throw new InvalidArgumentError({
        argument: name,
        value: `[${tensor.shape.join(', ')}]`,
        message: `must have the shape of logProbs, [${logProbs.shape.join(', ')}]`,
      });
    }
  }
  return tf.tidy(() => {
    const active = tf.greater(mask, 0);
    const zeros = tf.zeros(logProbs.shape);
    const current = tf.where(active, tf.cast(logProbs, 'float32'), zeros);
    const sampler =
      samplerLogProbs === undefined
        ? current
        : tf.where(active, tf.cast(samplerLogProbs, 'float32'), zeros);
    const weighted = tf.mul(tf.exp(tf.sub(current, sampler)), current);
    const count = tf.maximum(tf.sum(tf.cast(active, 'float32')), 1);
    return tf.neg(tf.div(tf.sum(tf.where(active, weighted, zeros)), count)) as tf.Scalar;
  });
}
