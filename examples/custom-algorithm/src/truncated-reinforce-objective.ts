import type { Objective, ObjectiveInput, ObjectiveOutput } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';

/** The identity whose gradient is zero: tfjs has no stop-gradient op, so a custom gradient makes one. */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: x.clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);

/**
 * REINFORCE with truncated importance weights, token mean over the batch:
 * `loss = -sum_t m_t A_t min(rho_t, c) / sum_t m_t`, `rho_t = exp(logp_t - logp_old_t)`.
 * Unlike PPO's clip, the truncation keeps a gradient at large ratios, scaled
 * down to `c` (the rho-bar of IMPALA, Espeholt et al. 2018, eq. 1).
 */
export class TruncatedReinforceObjective implements Objective<tf.Tensor> {
  readonly name = 'truncated-reinforce';

  constructor(private readonly truncation = 2) {}

  compute(input: ObjectiveInput<tf.Tensor>): ObjectiveOutput<tf.Tensor> {
    const { logProbs, oldLogProbs, advantages, lossMask, entropy } = input;
    const tokenCount = tf.maximum(tf.sum(lossMask), 1);
    const logRatio = tf.mul(tf.sub(logProbs, oldLogProbs), lossMask);
    const ratio = tf.exp(logRatio);
    // min(rho, c) = rho when rho < c, else rho scaled to c with its gradient scaled alike.
    const scale = tf.minimum(1, tf.div(this.truncation, stopGradient(ratio) as tf.Tensor));
    const weighted = tf.mul(tf.mul(ratio, scale), advantages);
    const loss = tf.neg(tf.div(tf.sum(tf.mul(weighted, lossMask)), tokenCount));
    const [approxKlToOld, meanEntropy] = tf.tidy(() => {
      const k3 = tf.sub(tf.sub(tf.exp(tf.neg(logRatio)), 1), tf.neg(logRatio));
      const kl = tf.div(tf.sum(tf.mul(k3, lossMask)), tokenCount).dataSync()[0]!;
      const mean = entropy
        ? tf.div(tf.sum(tf.mul(entropy, lossMask)), tokenCount).dataSync()[0]!
        : 0;
      return [kl, mean];
    });
    return { loss, metrics: { approxKlToOld, entropy: meanEntropy } };
  }
}
