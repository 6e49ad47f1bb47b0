import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';

/**
 * Rows of an embedding table: `out[..., :] = table[ids[...], :]` for
 * `table [V, E]` and integer `ids` of any shape, giving `[...ids.shape, E]`.
 *
 * Gradient: `dTable[v] = sum over positions p with ids[p] = v of dOut[p]`, a
 * scatter-add. tfjs differentiates `gather` with `UnsortedSegmentSum`, which the
 * WASM backend lacks; this op scatters with `scatterND` (which sums duplicate
 * indices and exists on every backend) instead.
 *
 * @example
 * ```ts
 * const rows = embeddingLookup(tf.eye(4) as tf.Tensor2D, tf.tensor2d([[1, 3]], [1, 2], 'int32')); // [1, 2, 4]
 * ```
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  if (table.rank !== 2) {
    throw new InvalidArgumentError({
      argument: 'table.shape',
      value: table.shape,
      message: 'must be [V, E]',
    });
  }
  if (ids.dtype !== 'int32') {
    throw new InvalidArgumentError({
      argument: 'ids.dtype',
      value: ids.dtype,
      message: "must be 'int32'",
    });
  }
  const [vocabSize, width] = table.shape;
  const flatIds = ids.reshape([-1]) as tf.Tensor1D;
  const lookup = customGradient((tableInput: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([flatIds]);
    return {
      value: tf.gather(tableInput, flatIds),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [savedIds] = saved as [tf.Tensor1D];
        return tf.scatterND(savedIds.reshape([-1, 1]), dy, [vocabSize, width]);
      },
    };
  });
  const rows = lookup(table);
  const result = rows.reshape([...ids.shape, width]);
  if (result !== rows) rows.dispose();
  if (flatIds !== ids) flatIds.dispose();
  return result;
}
