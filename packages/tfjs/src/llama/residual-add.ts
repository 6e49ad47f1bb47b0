import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from '../custom-gradient';

/**
 * `a + b` for tensors of one shape (a residual connection), whose gradient
 * (`dy` to both) keeps nothing alive. tfjs's `Add` saves both inputs for the
 * backward pass to undo broadcasting, which holds the residual stream and the
 * block's output of every layer until the whole backward pass ends.
 *
 * @example
 * ```ts
 * residualAdd(tf.ones([2, 3]), tf.ones([2, 3])); // all 2
 * ```
 */
export function residualAdd(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((size, axis) => size !== b.shape[axis])) {
    throw new InvalidArgumentError({
      argument: 'b.shape',
      value: b.shape,
      message: `must equal a.shape = [${a.shape.join(', ')}]`,
    });
  }
  const op = customGradient((left: tf.Tensor, right: tf.Tensor) => ({
    value: tf.add(left, right),
    // Two tensors over one buffer: the tape may dispose one gradient while adding to it.
    gradFunc: (dy: tf.Tensor) => [dy.clone(), dy.clone()],
  }));
  return op(a, b);
}
