import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { clampPreservingNaN } from './clamp-preserving-nan';

describe('clampPreservingNaN', () => {
  it('clamps like clipByValue but keeps NaN, with a 0/1 gradient', () => {
    const x = tf.tensor1d([Number.NaN, 30, -30, 0.5, 20]);
    expect(Array.from(clampPreservingNaN(x, -20, 20).dataSync())).toEqual([
      Number.NaN,
      20,
      -20,
      0.5,
      20,
    ]);
    const gradient = tf.grad((input: tf.Tensor) => clampPreservingNaN(input, -20, 20).sum())(
      tf.tensor1d([30, -30, 0.5, -1]),
    );
    expect(Array.from(gradient.dataSync())).toEqual([0, 0, 1, 1]);
  });
});
