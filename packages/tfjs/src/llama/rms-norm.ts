import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from '../custom-gradient';
import { columnSums } from '../layer-norm';

/**
 * Root-mean-square layer normalization over the last axis (RMSNorm, Zhang and
 * Sennrich 2019, eq. 4): `y = x r * weight` with `r = 1 / sqrt(mean(x^2) + epsilon)`.
 * One fused op with the analytic gradient
 * `dx = r (s - xhat mean(s xhat))` for `s = weight dy`, `xhat = x r`, and
 * `dweight = sum(dy xhat)` over all leading axes.
 *
 * @example
 * ```ts
 * rmsNorm(tf.tensor2d([[3, 4]]), tf.ones([2]), 0); // [[0.8485, 1.1314]] (divided by sqrt(12.5))
 * ```
 */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, epsilon: number): tf.Tensor {
  const width = x.shape[x.rank - 1] as number;
  if (weight.rank !== 1 || weight.shape[0] !== width) {
    throw new InvalidArgumentError({
      argument: 'weight.shape',
      value: weight.shape,
      message: `must be [${width}] to match x.shape = [${x.shape.join(', ')}]`,
    });
  }
  const fused = customGradient((input: tf.Tensor, gain: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const [normalized, inverse] = tf.tidy(() => {
      const r = input.square().mean(-1, true).add(epsilon).rsqrt();
      return [input.mul(r), r];
    }) as [tf.Tensor, tf.Tensor];
    save([normalized, inverse, gain]);
    const value = tf.tidy(() => normalized.mul(gain));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xhat, r, savedGain] = saved as [tf.Tensor, tf.Tensor, tf.Tensor1D];
        const scaled = dy.mul(savedGain);
        const dx = scaled.sub(xhat.mul(scaled.mul(xhat).mean(-1, true))).mul(r);
        const dGain = columnSums(dy.mul(xhat).reshape([-1, width]) as tf.Tensor2D);
        return [dx, dGain];
      },
    };
  });
  return fused(x, weight);
}
