import { NonFiniteError } from '@cohort/core';
import type * as tf from '@tensorflow/tfjs';
import { assertIsTensor } from './internal/shapes';

/**
 * Throws {@link NonFiniteError} naming `name[i][j]...` at the first NaN or
 * infinite element of a tensor. Reads the tensor synchronously (`dataSync`),
 * so use it at boundaries and in debugging, not on every op of a hot loop.
 *
 * @example
 * ```ts
 * assertFiniteTensor('logProbs', logProbs); // NonFiniteError: logProbs[1][3] is NaN; expected a finite number
 * ```
 */
export function assertFiniteTensor(name: string, tensor: tf.Tensor): void {
  assertIsTensor(name, tensor);
  const values = tensor.dataSync();
  for (let flat = 0; flat < values.length; flat++) {
    const value = values[flat] as number;
    if (!Number.isFinite(value)) {
      const indices: number[] = [];
      let rest = flat;
      for (let axis = tensor.rank - 1; axis >= 0; axis--) {
        const size = tensor.shape[axis]!;
        indices.unshift(rest % size);
        rest = Math.floor(rest / size);
      }
      throw new NonFiniteError({
        quantity: `${name}${indices.map((index) => `[${index}]`).join('')}`,
        value,
      });
    }
  }
}
