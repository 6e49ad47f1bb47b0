import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from '../custom-gradient';
import { checkLinearShapes } from '../linear';
import { transposeBMatMul } from '../mat-mul-2d';

/**
 * `y = x W (+ b)` over the last axis, `weight [in, out]`, where `W` and `b` are
 * constants for differentiation: the gradient flows to `x` only
 * (`dx = dy W^T`). LoRA's frozen base projections use it, so a backward pass
 * never spends a `[in, out]` product on a weight gradient nobody reads. The
 * leading axes are flattened inside the op, so nothing but the weight is
 * saved for the backward pass.
 *
 * @example
 * ```ts
 * const y = frozenLinear(tf.ones([2, 3]), tf.ones([3, 4])); // [2, 4], all 3; no gradient to the weight
 * ```
 */
export function frozenLinear(x: tf.Tensor, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  const { inSize, outSize } = checkLinearShapes(x, weight, bias);
  const inputShape = [...x.shape];
  const product = customGradient((input: tf.Tensor, save: tf.GradSaveFunc) => {
    // Saved, not captured: a weight made inside the caller's tidy must outlive it.
    save([weight]);
    return {
      value: tf.tidy(() => {
        const y = tf.matMul(input.reshape([-1, inSize]) as tf.Tensor2D, weight);
        return (bias === undefined ? y : y.add(bias)).reshape([
          ...inputShape.slice(0, -1),
          outSize,
        ]);
      }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        transposeBMatMul(dy.reshape([-1, outSize]) as tf.Tensor2D, saved[0] as tf.Tensor2D).reshape(
          inputShape,
        ),
    };
  });
  return product(x);
}

/**
 * `y = x W^T` over the last axis for `weight [out, in]` held constant (a head
 * tied to the embedding table `[V, E]`): the same product as
 * {@link frozenLinear} of the transposed table, without keeping a transposed
 * copy of the table alive through the backward pass (`dx = dy W`).
 *
 * @example
 * ```ts
 * const logits = frozenTransposedLinear(tf.ones([2, 3]), tf.ones([5, 3])); // [2, 5], all 3
 * ```
 */
export function frozenTransposedLinear(x: tf.Tensor2D, weight: tf.Tensor2D): tf.Tensor2D {
  const inSize = x.shape[1];
  if (weight.rank !== 2 || weight.shape[1] !== inSize) {
    throw new InvalidArgumentError({
      argument: 'weight.shape',
      value: weight.shape,
      message: `must be [out, ${inSize}] to match x.shape = [${x.shape.join(', ')}]`,
    });
  }
  const product = customGradient((input: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([weight]);
    return {
      value: transposeBMatMul(input, weight),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => tf.matMul(dy, saved[0] as tf.Tensor2D),
    };
  });
  return product(x);
}
