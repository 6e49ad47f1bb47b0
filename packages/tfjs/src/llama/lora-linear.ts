import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from '../custom-gradient';
import { checkLinearShapes } from '../linear';
import { transposeAMatMul, transposeBMatMul } from '../mat-mul-2d';

/** Options of {@link loraLinear}. */
export interface LoraLinearOptions {
  /** The frozen base weight `W [in, out]`. */
  weight: tf.Tensor2D;
  /** The frozen base bias `b [out]`, if any. */
  bias?: tf.Tensor1D;
  /** The adapter `A [in, rank]`. */
  loraA: tf.Tensor2D;
  /** The adapter `B [rank, out]`. */
  loraB: tf.Tensor2D;
  /** The LoRA scale `alpha / rank`. */
  scale: number;
}

/**
 * A LoRA-adapted projection as one op (Hu et al. 2021, eq. 3):
 * `y = x W + b + s (x A) B` over the last axis of `x [..., in]`, where `W` and
 * `b` are constants for differentiation and `A`, `B` are trained. With
 * `h = x A` and upstream `g`: `dx = g W^T + s (g B^T) A^T`,
 * `dA = s x^T (g B^T)`, `dB = s h^T g`.
 *
 * Why one op: composed from tfjs ops, the adapted projection records about
 * ten tape entries, and tfjs keeps the gradient of every recorded tensor until
 * the whole backward pass ends; as one op it keeps one `[N, out]` gradient and
 * saves only `x` and the small `h [N, rank]`. No `[in, out]` product is spent
 * on the frozen weight, and `W + s A B` is never formed.
 *
 * @example
 * ```ts
 * const y = loraLinear(tf.ones([2, 3]), { weight: tf.ones([3, 4]), loraA: tf.ones([3, 1]), loraB: tf.zeros([1, 4]), scale: 2 }); // all 3
 * ```
 */
export function loraLinear(x: tf.Tensor, options: LoraLinearOptions): tf.Tensor {
  const { weight, bias, loraA, loraB, scale } = options;
  const { inSize, outSize } = checkLinearShapes(x, weight, bias);
  if (loraA.rank !== 2 || loraA.shape[0] !== inSize) {
    throw new InvalidArgumentError({
      argument: 'loraA.shape',
      value: loraA.shape,
      message: `must be [${inSize}, rank]`,
    });
  }
  const rank = loraA.shape[1];
  if (loraB.rank !== 2 || loraB.shape[0] !== rank || loraB.shape[1] !== outSize) {
    throw new InvalidArgumentError({
      argument: 'loraB.shape',
      value: loraB.shape,
      message: `must be [${rank}, ${outSize}]`,
    });
  }
  if (!Number.isFinite(scale)) {
    throw new InvalidArgumentError({ argument: 'scale', value: scale, message: 'must be finite' });
  }
  const inputShape = [...x.shape];
  const op = customGradient(
    (input: tf.Tensor, a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
      // Leading axes are flattened inside the op, so no reshape on the tape keeps a buffer alive.
      const flat = input.reshape([-1, inSize]) as tf.Tensor2D;
      const down = tf.matMul(flat, a);
      // The weight is saved, not captured: one made inside the caller's tidy must outlive it.
      save([flat, down, a, b, weight]);
      return {
        value: tf.tidy(() => {
          const y = tf.matMul(flat, weight).add(tf.matMul(down, b).mul(scale));
          return (bias === undefined ? y : y.add(bias)).reshape([
            ...inputShape.slice(0, -1),
            outSize,
          ]);
        }),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [savedInput, savedDown, savedA, savedB, savedWeight] = saved as tf.Tensor2D[];
          const flatDy = dy.reshape([-1, outSize]) as tf.Tensor2D;
          const scaledUp = transposeBMatMul(flatDy, savedB as tf.Tensor2D).mul(
            scale,
          ) as tf.Tensor2D;
          const dx = transposeBMatMul(flatDy, savedWeight as tf.Tensor2D)
            .add(transposeBMatMul(scaledUp, savedA as tf.Tensor2D))
            .reshape(inputShape);
          const dA = transposeAMatMul(savedInput as tf.Tensor2D, scaledUp);
          const dB = transposeAMatMul(savedDown as tf.Tensor2D, flatDy).mul(scale);
          return [dx, dA, dB];
        },
      };
    },
  );
  return op(x, loraA, loraB);
}
