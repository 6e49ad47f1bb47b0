import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';
import { columnSums } from './layer-norm';
import { matMul2d, transposeAMatMul, transposeBMatMul } from './mat-mul-2d';

/**
 * Checks `x [..., in]`, `weight [in, out]` and `bias [out]` of an affine map,
 * throwing an error that names the misfit argument; returns `in` and `out`.
 */
export function checkLinearShapes(
  x: tf.Tensor,
  weight: tf.Tensor2D,
  bias?: tf.Tensor1D,
): { inSize: number; outSize: number } {
  const inSize = x.shape[x.rank - 1] as number;
  if (weight.rank !== 2 || weight.shape[0] !== inSize) {
    throw new InvalidArgumentError({
      argument: 'weight.shape',
      value: weight.shape,
      message: `must be [${inSize}, out] to match x.shape = [${x.shape.join(', ')}]`,
    });
  }
  const outSize = weight.shape[1];
  if (bias !== undefined && (bias.rank !== 1 || bias.shape[0] !== outSize)) {
    throw new InvalidArgumentError({
      argument: 'bias.shape',
      value: bias.shape,
      message: `must be [${outSize}]`,
    });
  }
  return { inSize, outSize };
}

/**
 * Affine map `y = x W + b` over the last axis: `x [..., in]`, `weight [in, out]`
 * (the Hugging Face Conv1D layout), optional `bias [out]`, giving `[..., out]`.
 * The leading axes are flattened so the product runs through {@link matMul2d};
 * the bias gradient `sum over rows of dy` is a 2D product with a ones vector.
 *
 * @example
 * ```ts
 * const y = linear(tf.ones([2, 5, 3]), tf.ones([3, 4]), tf.zeros([4])); // [2, 5, 4], all 3
 * ```
 */
export function linear(x: tf.Tensor, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  const { inSize, outSize } = checkLinearShapes(x, weight, bias);
  const flat = x.reshape([-1, inSize]) as tf.Tensor2D;
  const product = bias === undefined ? matMul2d(flat, weight) : affine(flat, weight, bias);
  const result = product.reshape([...x.shape.slice(0, -1), outSize]);
  if (flat !== x) flat.dispose();
  if (result !== product) product.dispose();
  return result;
}

const affine = customGradient(
  (x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D, save: tf.GradSaveFunc) => {
    save([x, weight]);
    return {
      value: tf.tidy(() => tf.matMul(x, weight).add(bias)) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [savedX, savedWeight] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [transposeBMatMul(dy, savedWeight), transposeAMatMul(savedX, dy), columnSums(dy)];
      },
    };
  },
);
