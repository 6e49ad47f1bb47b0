import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';

/**
 * Entropy of the softmax of `logits` over the last axis,
 * `H = logsumexp(z) - sum_v softmax(z)_v z_v` (the form of verl's
 * `entropy_from_logits` and TRL's `entropy_from_logits`), computed from
 * `log_softmax` so that huge logits neither overflow nor cancel:
 * `H = -sum_v p_v log p_v`. `[B, L, V]` gives `[B, L]`; differentiable.
 *
 * @throws InvalidArgumentError when `logits` is not a tensor of rank >= 1 with a non-empty last axis.
 * @example
 * ```ts
 * entropyFromLogits(tf.tensor1d([0, 0, 0, 0])); // log 4 = 1.386
 * ```
 */
export function entropyFromLogits(logits: tf.Tensor): tf.Tensor {
  if (!(logits instanceof tf.Tensor) || logits.rank < 1 || logits.shape.at(-1) === 0) {
    throw new InvalidArgumentError({
      argument: 'logits',
      value: logits instanceof tf.Tensor ? `[${logits.shape.join(', ')}]` : logits,
      message: 'must be a tf.Tensor [..., vocabulary] with a non-empty last axis',
    });
  }
  return tf.tidy(() => {
    const logProbabilities = tf.logSoftmax(tf.cast(logits, 'float32'));
    return tf.neg(tf.sum(tf.mul(tf.exp(logProbabilities), logProbabilities), -1));
  });
}
