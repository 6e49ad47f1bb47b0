import { InvalidArgumentError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { klLoss } from './kl-loss';
import { klPerToken } from './kl-per-token';
import { aggregateTokenValues } from './loss-aggregation';
import type { LossAggregation } from './loss-aggregation-options';

/** Reference with explicit loops over rows and tokens. */
function referenceAggregate(
  values: number[][],
  mask: number[][],
  mode: LossAggregation,
  constantLength?: number,
) {
  let total = 0;
  let count = 0;
  let sequenceSum = 0;
  for (let b = 0; b < values.length; b++) {
    let rowTotal = 0;
    let rowCount = 0;
    for (let t = 0; t < values[b]!.length; t++) {
      if (mask[b]![t] === 1) {
        rowTotal += values[b]![t]!;
        rowCount += 1;
      }
    }
    total += rowTotal;
    count += rowCount;
    sequenceSum += rowCount === 0 ? 0 : rowTotal / rowCount;
  }
  if (mode === 'token-mean') return count === 0 ? 0 : total / count;
  if (mode === 'sequence-mean') return values.length === 0 ? 0 : sequenceSum / values.length;
  const length = constantLength ?? values[0]?.length ?? 0;
  return values.length * length === 0 ? 0 : total / (values.length * length);
}

const modes: LossAggregation[] = ['token-mean', 'sequence-mean', 'constant'];

describe('aggregateTokenValues', () => {
  it('matches the loop reference for each mode, with an empty row', () => {
    const random = new Random(4);
    const values = Array.from({ length: 4 }, () =>
      Array.from({ length: 6 }, () => random.normal(0, 2)),
    );
    const mask = [
      [1, 1, 1, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
      [1, 1, 1, 1, 1, 1],
      [0, 1, 0, 1, 0, 0],
    ];
    const valuesTensor = tf.tensor2d(values);
    const maskTensor = tf.tensor2d(mask);
    for (const mode of modes) {
      for (const constantLength of mode === 'constant' ? [undefined, 10] : [undefined]) {
        const before = tf.memory().numTensors;
        const result = aggregateTokenValues({
          values: valuesTensor,
          lossMask: maskTensor,
          mode,
          ...(constantLength === undefined ? {} : { constantLength }),
        });
        const value = result.dataSync()[0]!;
        result.dispose();
        expect(tf.memory().numTensors).toBe(before);
        expect(value).toBeCloseTo(referenceAggregate(values, mask, mode, constantLength), 5);
      }
    }
    tf.dispose([valuesTensor, maskTensor]);
  });

  it('sequence-mean: an empty row contributes 0 and counts in the batch size', () => {
    const values = tf.tensor2d([
      [2, 4],
      [100, 100],
    ]);
    const mask = tf.tensor2d([
      [1, 1],
      [0, 0],
    ]);
    const result = aggregateTokenValues({ values, lossMask: mask, mode: 'sequence-mean' });
    expect(result.dataSync()[0]).toBeCloseTo(1.5, 6); // (3 + 0) / 2
    tf.dispose([values, mask, result]);
  });

  it('gives 0 (never NaN) for an all-zero mask and for an empty batch, in every mode', () => {
    for (const mode of modes) {
      const values = tf.tensor2d([[1, 2]]);
      const mask = tf.zeros([1, 2]);
      const emptyValues = tf.zeros([0, 3]);
      const emptyMask = tf.zeros([0, 3]);
      const zeroMask = aggregateTokenValues({ values, lossMask: mask, mode });
      const emptyBatch = aggregateTokenValues({ values: emptyValues, lossMask: emptyMask, mode });
      expect(zeroMask.dataSync()[0]).toBe(0);
      expect(emptyBatch.dataSync()[0]).toBe(0);
      tf.dispose([values, mask, emptyValues, emptyMask, zeroMask, emptyBatch]);
    }
  });

  it('keeps NaN and Infinity in masked-out positions out of the value and the gradient', () => {
    const values = tf.tensor2d([[1, Number.NaN, Number.POSITIVE_INFINITY, 3]]);
    const mask = tf.tensor2d([[1, 0, 0, 1]]);
    for (const mode of modes) {
      const gradient = tf.grad((x: tf.Tensor) =>
        aggregateTokenValues({ values: x, lossMask: mask, mode }),
      )(values);
      const expectedScale = mode === 'constant' ? 1 / 4 : 1 / 2;
      expect(Array.from(gradient.dataSync())).toEqual([expectedScale, 0, 0, expectedScale]);
      const result = aggregateTokenValues({ values, lossMask: mask, mode });
      expect(result.dataSync()[0]).toBeCloseTo(mode === 'constant' ? 1 : 2, 6);
      tf.dispose([gradient, result]);
    }
    tf.dispose([values, mask]);
  });

  it('rejects bad shapes, modes and constants', () => {
    const values = tf.zeros([2, 3]);
    const mask = tf.zeros([2, 2]);
    const flat = tf.zeros([3]);
    expect(() => aggregateTokenValues({ values, lossMask: mask, mode: 'token-mean' })).toThrow(
      /lossMask = "\[2, 2\]".*\[2, 3\]/,
    );
    expect(() =>
      aggregateTokenValues({ values: flat, lossMask: flat, mode: 'token-mean' }),
    ).toThrow(/rank 2/);
    expect(() =>
      aggregateTokenValues({
        values,
        lossMask: values,
        mode: 'mean' as unknown as LossAggregation,
      }),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      aggregateTokenValues({ values, lossMask: values, mode: 'constant', constantLength: 0 }),
    ).toThrow(/constantLength = 0/);
    tf.dispose([values, mask, flat]);
  });
});

describe('klLoss', () => {
  it('aggregates the per-token estimate over the mask', () => {
    const logProbs = [
      [-1, -2, -0.5],
      [-0.1, -3, -2],
    ];
    const refLogProbs = [
      [-1.5, -1, -0.5],
      [-0.2, -1, -9],
    ];
    const mask = [
      [1, 1, 0],
      [1, 1, 1],
    ];
    const perToken = klPerToken({ logProbs, refLogProbs, estimator: 'k3' });
    const tensors = [tf.tensor2d(logProbs), tf.tensor2d(refLogProbs), tf.tensor2d(mask)] as const;
    for (const mode of modes) {
      const result = klLoss({
        logProbs: tensors[0],
        refLogProbs: tensors[1],
        lossMask: tensors[2],
        aggregation: mode,
      });
      expect(result.dataSync()[0]).toBeCloseTo(referenceAggregate(perToken, mask, mode), 5);
      result.dispose();
    }
    tf.dispose([...tensors]);
  });
});
