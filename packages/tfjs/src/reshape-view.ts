import type * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';

/**
 * `x.reshape(shape)` whose gradient (`dy` reshaped back) keeps nothing alive.
 *
 * Why: tfjs's own `Reshape` saves its input for the backward pass only to
 * read its shape, and a saved tensor keeps its buffer until the whole
 * backward pass ends; so every reshaped activation (a projection's output
 * split into heads, the logits flattened for the loss) is held through the
 * backward pass even when nothing else needs it. This op remembers the shape
 * as numbers instead.
 *
 * @example
 * ```ts
 * const flat = reshapeView(tf.ones([2, 3, 4]), [6, 4]); // [6, 4], gradient reshaped to [2, 3, 4]
 * ```
 */
export function reshapeView<R extends tf.Rank>(x: tf.Tensor, shape: number[]): tf.Tensor<R> {
  const inputShape = [...x.shape];
  const op = customGradient((input: tf.Tensor) => ({
    value: input.reshape(shape),
    gradFunc: (dy: tf.Tensor) => dy.reshape(inputShape),
  }));
  return op(x) as tf.Tensor<R>;
}
