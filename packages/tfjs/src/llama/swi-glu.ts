import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from '../custom-gradient';

/**
 * The gated unit of the Llama MLP (SwiGLU, Shazeer 2020, eq. 6, with
 * `Swish_1 = SiLU`): `y = silu(g) u = g sigmoid(g) u` elementwise, as one op.
 * With `s = sigmoid(g)` and upstream `d`: `du = d g s` and
 * `dg = d u s (1 + g (1 - s))`.
 *
 * Why one op: composed from tfjs ops it records four `[N, intermediate]`
 * tensors and their gradients, the largest activations of the block, which
 * tfjs keeps until the backward pass ends; as one op it saves `g` and `u` only.
 *
 * @example
 * ```ts
 * swiGlu(tf.tensor1d([0, 1]), tf.tensor1d([2, 2])); // [0, 2 sigmoid(1)] = [0, 1.4621]
 * ```
 */
export function swiGlu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  if (
    gate.shape.length !== up.shape.length ||
    gate.shape.some((size, axis) => size !== up.shape[axis])
  ) {
    throw new InvalidArgumentError({
      argument: 'up.shape',
      value: up.shape,
      message: `must equal gate.shape = [${gate.shape.join(', ')}]`,
    });
  }
  const op = customGradient((g: tf.Tensor, u: tf.Tensor, save: tf.GradSaveFunc) => {
    save([g, u]);
    return {
      value: tf.tidy(() => g.mul(tf.sigmoid(g)).mul(u)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedGate, savedUp] = saved as [tf.Tensor, tf.Tensor];
        const s = tf.sigmoid(savedGate);
        const dUp = dy.mul(savedGate).mul(s);
        const dGate = dy
          .mul(savedUp)
          .mul(s)
          .mul(savedGate.mul(tf.scalar(1).sub(s)).add(1));
        return [dGate, dUp];
      },
    };
  });
  return op(gate, up);
}
