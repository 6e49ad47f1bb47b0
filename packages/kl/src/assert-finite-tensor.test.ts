import { NonFiniteError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { assertFiniteTensor } from './assert-finite-tensor';

describe('assertFiniteTensor', () => {
  it('names the first bad element by its index', () => {
    const good = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const bad = tf.tensor3d([[[0, 1, 2]], [[3, Number.NEGATIVE_INFINITY, Number.NaN]]]);
    expect(() => assertFiniteTensor('good', good)).not.toThrow();
    try {
      assertFiniteTensor('logProbs', bad);
      expect.unreachable();
    } catch (error) {
      expect(NonFiniteError.isInstance(error)).toBe(true);
      expect((error as NonFiniteError).quantity).toBe('logProbs[1][0][1]');
    }
    const scalar = tf.scalar(Number.NaN);
    expect(() => assertFiniteTensor('loss', scalar)).toThrow(/^loss is NaN/);
    tf.dispose([good, bad, scalar]);
  });
});
