import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';

/**
 * True when the active backend multiplies transposed operands as fast as plain
 * ones (tfjs-node); elsewhere (WASM, and the cpu backend, where it costs
 * nothing) an explicit transpose followed by a plain 2D product is used.
 */
function nativeTransposeIsFast(): boolean {
  return tf.getBackend() === 'tensorflow';
}

/** `a^T b` through the fast path. */
export function transposeAMatMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (nativeTransposeIsFast()) return tf.matMul(a, b, true, false);
  return tf.tidy(() => tf.matMul(tf.transpose(a), b));
}

/** `a b^T` through the fast path. */
export function transposeBMatMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (nativeTransposeIsFast()) return tf.matMul(a, b, false, true);
  return tf.tidy(() => tf.matMul(a, tf.transpose(b)));
}

const fastMatMul = customGradient((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [savedA, savedB] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [transposeBMatMul(dy, savedB), transposeAMatMul(savedA, dy)];
    },
  };
});

/**
 * Matrix product `C = A B` of `a [m, k]` and `b [k, n]`, whose forward pass and
 * both gradients (`dA = dC B^T`, `dB = A^T dC`) run as plain, untransposed 2D
 * products.
 *
 * Why: on the tfjs WASM backend a plain 2D `matMul` runs at about 20 GFLOP/s
 * on this kind of CPU, but a product with a transposed operand (which is what
 * tfjs's own `matMul` gradient uses) runs at about 1 GFLOP/s. Transposing
 * explicitly first (a memory copy) and then multiplying is about 10x faster.
 *
 * @example
 * ```ts
 * const c = matMul2d(tf.ones([2, 3]), tf.ones([3, 4])); // [2, 4], all 3
 * ```
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (a.rank !== 2) {
    throw new InvalidArgumentError({
      argument: 'a.shape',
      value: a.shape,
      message: 'must be [m, k]',
    });
  }
  if (b.rank !== 2 || b.shape[0] !== a.shape[1]) {
    throw new InvalidArgumentError({
      argument: 'b.shape',
      value: b.shape,
      message: `must be [${a.shape[1]}, n] to match a.shape = [${a.shape.join(', ')}]`,
    });
  }
  return fastMatMul(a, b);
}
