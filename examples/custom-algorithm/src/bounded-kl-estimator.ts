import type { KlEstimator, KlEstimatorInput } from '@cohort/core';
import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';

/**
 * A KL estimator that saturates: `cap * tanh(k2 / cap)`, with
 * `k2 = (logp - logp_ref)^2 / 2` (Schulman 2020). Near the reference it is
 * k2; a token far from it costs at most `cap`, so one wild token cannot
 * swamp a trajectory's return when the KL is placed in the reward.
 */
export class BoundedKlEstimator implements KlEstimator<tf.Tensor> {
  readonly name = 'bounded-k2';

  constructor(readonly cap: number) {
    if (!(Number.isFinite(cap) && cap > 0)) {
      throw new InvalidArgumentError({ argument: 'cap', value: cap, message: 'must be > 0' });
    }
  }

  estimate({ logProbs, refLogProbs }: KlEstimatorInput<readonly number[]>): number[] {
    return logProbs.map((logProb, index) => {
      const k2 = 0.5 * (logProb - refLogProbs[index]!) ** 2;
      return this.cap * Math.tanh(k2 / this.cap);
    });
  }

  estimateTensor({ logProbs, refLogProbs }: KlEstimatorInput<tf.Tensor>): tf.Tensor {
    return tf.tidy(() => {
      const k2 = tf.mul(0.5, tf.square(tf.sub(logProbs, refLogProbs)));
      return tf.mul(this.cap, tf.tanh(tf.div(k2, this.cap)));
    });
  }
}
