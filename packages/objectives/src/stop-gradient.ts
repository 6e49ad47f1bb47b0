import * as tf from '@tensorflow/tfjs';

const identityWithoutGradient = tf.customGrad((x, save) => {
  (save as tf.GradSaveFunc)([]);
  return {
    value: tf.clone(x as tf.Tensor),
    gradFunc: (dy) => tf.zerosLike(dy),
  };
});

/**
 * `x` as a constant for differentiation (PyTorch's `detach`, JAX's
 * `stop_gradient`): the same values, gradient 0. tfjs has no such op.
 *
 * @example
 * ```ts
 * tf.grad((x) => tf.mul(stopGradient(x), x))(tf.scalar(3)); // 3, not 6
 * ```
 */
export function stopGradient(x: tf.Tensor): tf.Tensor {
  return identityWithoutGradient(x);
}
