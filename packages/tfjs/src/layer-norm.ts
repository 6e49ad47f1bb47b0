import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';

/** Column sums of `x [n, c]` as a 2D product `1^T x`: tfjs-wasm's sum over axis 0 is about 40x slower. */
export function columnSums(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.matMul(tf.ones([1, x.shape[0]]), x).reshape([x.shape[1]]));
}

/**
 * Layer normalization over the last axis (Ba et al. 2016, eq. 4):
 * `y = xhat * gain + bias`, `xhat = (x - mean) / sqrt(var + epsilon)` with the
 * biased variance. One fused op with the analytic gradient
 * `dx = (g dy - mean(g dy) - xhat mean(g dy xhat)) / sqrt(var + epsilon)`,
 * `dgain = sum(dy xhat)`, `dbias = sum(dy)` over all leading axes.
 *
 * @example
 * ```ts
 * layerNorm(tf.tensor2d([[1, 3]]), tf.ones([2]), tf.zeros([2]), 1e-5); // [[-1, 1]]
 * ```
 */
export function layerNorm(
  x: tf.Tensor,
  gain: tf.Tensor1D,
  bias: tf.Tensor1D,
  epsilon: number,
): tf.Tensor {
  const width = x.shape[x.rank - 1] as number;
  const fused = customGradient(
    (input: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
      const [normalized, inverseDeviation] = tf.tidy(() => {
        const centered = input.sub(input.mean(-1, true));
        const inverse = centered.square().mean(-1, true).add(epsilon).rsqrt();
        return [centered.mul(inverse), inverse];
      }) as [tf.Tensor, tf.Tensor];
      save([normalized, inverseDeviation, g]);
      const value = tf.tidy(() => normalized.mul(g).add(b));
      return {
        value,
        // Tidied: tfjs runs a custom gradient outside any scope, so its temporaries would live until the whole backward pass ends.
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.tidy(() => {
            const [xhat, inverse, savedGain] = saved as [tf.Tensor, tf.Tensor, tf.Tensor1D];
            const scaled = dy.mul(savedGain);
            const dx = scaled
              .sub(scaled.mean(-1, true))
              .sub(xhat.mul(scaled.mul(xhat).mean(-1, true)))
              .mul(inverse);
            const dGain = columnSums(dy.mul(xhat).reshape([-1, width]) as tf.Tensor2D);
            const dBias = columnSums(dy.reshape([-1, width]) as tf.Tensor2D);
            return [dx, dGain, dBias];
          }),
      };
    },
  );
  return fused(x, gain, bias);
}
