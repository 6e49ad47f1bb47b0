import * as tf from '@tensorflow/tfjs';
import { customGradient } from '../custom-gradient';
import type { LlamaConfig } from './llama-config';

/**
 * Inverse frequencies of rotary position embeddings (RoPE, Su et al. 2021,
 * eq. 15): `invFreq[i] = theta^(-2i / d)` for `i < d / 2`, then scaled as
 * `config.ropeScaling` says. `'linear'`: `invFreq / factor`. `'llama3'`
 * (transformers' `_compute_llama3_parameters`): with wavelength
 * `w = 2 pi / invFreq`, `L = originalContextLength`, frequencies with
 * `w > L / lowFrequencyFactor` are divided by `factor`, those with
 * `w < L / highFrequencyFactor` kept, and those between interpolated with
 * `s = (L / w - low) / (high - low)`: `(1 - s) invFreq / factor + s invFreq`.
 *
 * @example
 * ```ts
 * rotaryInverseFrequencies({ headSize: 4, ropeTheta: 10000, ropeScaling: null }); // [1, 0.01]
 * ```
 */
export function rotaryInverseFrequencies(
  config: Pick<LlamaConfig, 'headSize' | 'ropeTheta' | 'ropeScaling'>,
): Float64Array {
  const half = config.headSize / 2;
  const inverse = new Float64Array(half);
  for (let i = 0; i < half; i++) inverse[i] = config.ropeTheta ** (-(2 * i) / config.headSize);
  const scaling = config.ropeScaling;
  if (scaling === null) return inverse;
  if (scaling.type === 'linear') return inverse.map((value) => value / scaling.factor);
  const { factor, lowFrequencyFactor: low, highFrequencyFactor: high } = scaling;
  const lowWavelength = scaling.originalContextLength / low;
  const highWavelength = scaling.originalContextLength / high;
  return inverse.map((value) => {
    const wavelength = (2 * Math.PI) / value;
    if (wavelength < highWavelength) return value;
    if (wavelength > lowWavelength) return value / factor;
    const smooth = (scaling.originalContextLength / wavelength - low) / (high - low);
    return ((1 - smooth) * value) / factor + smooth * value;
  });
}

/**
 * Cosines and sines `[B, 1, T, d]` of the rotary angles `position * invFreq`,
 * repeated over both halves of the head (`cat(freqs, freqs)`, the Hugging Face
 * half-rotation layout), for position ids `[B * T]` (row-major).
 */
export function rotaryTables(
  inverseFrequencies: Float64Array,
  positions: Int32Array,
  [batchSize, length]: [number, number],
): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const half = inverseFrequencies.length;
  const headSize = 2 * half;
  const cos = new Float32Array(batchSize * length * headSize);
  const sin = new Float32Array(batchSize * length * headSize);
  for (let row = 0; row < batchSize * length; row++) {
    const base = row * headSize;
    for (let i = 0; i < half; i++) {
      const angle = (positions[row] as number) * (inverseFrequencies[i] as number);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[base + i] = c;
      cos[base + half + i] = c;
      sin[base + i] = s;
      sin[base + half + i] = s;
    }
  }
  const shape: [number, number, number, number] = [batchSize, 1, length, headSize];
  return { cos: tf.tensor4d(cos, shape), sin: tf.tensor4d(sin, shape) };
}

/** `cat(-x[d/2:], x[:d/2])` over the last axis; its transpose is `cat(x[d/2:], -x[:d/2])`. */
function rotateHalf(x: tf.Tensor4D, sign: 1 | -1): tf.Tensor4D {
  const half = x.shape[3] / 2;
  return tf.tidy(() => {
    const [first, second] = tf.split(x, [half, half], 3) as [tf.Tensor4D, tf.Tensor4D];
    return (
      sign === 1 ? tf.concat([second.neg(), first], 3) : tf.concat([second, first.neg()], 3)
    ) as tf.Tensor4D;
  });
}

/**
 * Rotates queries or keys `x [B, H, T, d]` by their positions in the Hugging
 * Face layout: `x cos + rotate_half(x) sin` with
 * `rotate_half(x) = cat(-x[d/2:], x[:d/2])` (transformers' `apply_rotary_pos_emb`).
 * One op whose gradient is the transposed rotation,
 * `dx = dy cos + rotate_half^T(dy sin)`, so the backward pass keeps one
 * gradient instead of one per split, negation, concatenation and product.
 */
export function applyRotary(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const rotate = customGradient((input: tf.Tensor4D, save: tf.GradSaveFunc) => {
    // Saved, not captured: the tables are made inside the caller's tidy.
    save([cos, sin]);
    return {
      value: tf.tidy(() => input.mul(cos).add(rotateHalf(input, 1).mul(sin))) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [savedCos, savedSin] = saved as [tf.Tensor4D, tf.Tensor4D];
        return dy.mul(savedCos).add(rotateHalf(dy.mul(savedSin) as tf.Tensor4D, -1));
      },
    };
  });
  return rotate(x);
}
