import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from '../custom-gradient';
import { transposeBMatMul } from '../mat-mul-2d';

/**
 * `y = x W (+ b)` over the last axis, `weight [in, out]`, where `W` and `b` are
 * constants for differentiation: the gradient flows to `x` only
 * (`dx = dy W^T`). LoRA's frozen base projections use it, so a backward pass
 * never spends a `[in, out]` product on a weight gradient nobody reads.
 *
 * @example
 * ```ts
 * const y = frozenLinear(tf.ones([2, 3]), tf.ones([3, 4])); // [2, 4], all 3; no gradient to the weight
 * ```
 */
export function frozenLinear(x: tf.Tensor, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  const inSize = x.shape[x.rank - 1] as number;
  if (weight.rank !== 2 || weight.shape[0] !== inSize) {
    throw new InvalidArgumentError({
      argument: 'weight.shape',
      value: weight.shape,
      message: `must be [${inSize}, out] to match x.shape = [${x.shape.join(', ')}]`,
    });
  }
  const outSize = weight.shape[1];
  const product = customGradient((input: tf.Tensor2D, save: tf.GradSaveFunc) => {
    // Saved, not captured: a weight made inside the caller's tidy (a transposed tied embedding) must outlive it.
    save([weight]);
    return {
      value: tf.tidy(() => {
        const y = tf.matMul(input, weight);
        return bias === undefined ? y : y.add(bias);
      }) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) =>
        transposeBMatMul(dy, saved[0] as tf.Tensor2D),
    };
  });
  return tf.tidy(() =>
    product(x.reshape([-1, inSize])).reshape([...x.shape.slice(0, -1), outSize]),
  );
}
