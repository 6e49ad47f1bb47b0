import * as tf from '@tensorflow/tfjs';

/**
 * `min(max(x, lower), upper)` elementwise, with NaN kept as NaN. `tf.clipByValue`
 * on the WASM backend turns NaN into `lower`, which would let a corrupted
 * log-ratio pass as a finite number; a NaN must stay visible so that the
 * trainer can refuse the update. The gradient is 1 inside `[lower, upper]` and
 * 0 outside, as for `clipByValue`.
 *
 * @example
 * ```ts
 * clampPreservingNaN(tf.tensor1d([NaN, 30, 0.5]), -20, 20); // [NaN, 20, 0.5]
 * ```
 */
export function clampPreservingNaN(x: tf.Tensor, lower: number, upper: number): tf.Tensor {
  return tf.minimum(tf.maximum(x, lower), upper);
}
