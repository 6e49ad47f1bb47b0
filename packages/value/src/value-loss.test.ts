import { InvalidArgumentError, NonFiniteError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { valueLoss } from './value-loss';
import type { ValueLossAggregation } from './value-loss-options';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Batch {
  values: number[][];
  oldValues: number[][];
  returns: number[][];
  mask: number[][];
}

/** Reference in float64 with plain loops and branches instead of max/min tensors. */
function referenceLoss(
  batch: Batch,
  clipRange: number | undefined,
  aggregation: ValueLossAggregation,
  emptyRows: 'count' | 'exclude' = 'count',
): { loss: number; gradient: number[][]; clipFraction: number } {
  const rows = batch.values.length;
  const columns = batch.values[0]!.length;
  const perToken: number[][] = [];
  const derivative: number[][] = [];
  let clippedCount = 0;
  let tokens = 0;
  for (let b = 0; b < rows; b++) {
    perToken.push([]);
    derivative.push([]);
    for (let t = 0; t < columns; t++) {
      const v = batch.values[b]![t]!;
      const r = batch.returns[b]![t]!;
      let loss = 0.5 * (v - r) ** 2;
      let slope = v - r;
      if (clipRange !== undefined) {
        const old = batch.oldValues[b]![t]!;
        let clipped = v;
        if (v < old - clipRange) clipped = old - clipRange;
        if (v > old + clipRange) clipped = old + clipRange;
        const clippedLoss = 0.5 * (clipped - r) ** 2;
        if (clippedLoss > loss) {
          loss = clippedLoss;
          slope = clipped === v ? clipped - r : 0;
          if (batch.mask[b]![t] === 1) clippedCount++;
        }
      }
      perToken[b]!.push(loss * batch.mask[b]![t]!);
      derivative[b]!.push(slope * batch.mask[b]![t]!);
      tokens += batch.mask[b]![t]!;
    }
  }
  let loss = 0;
  const gradient = derivative.map((row) => row.map(() => 0));
  if (aggregation === 'token-mean') {
    loss = perToken.flat().reduce((a, c) => a + c, 0) / Math.max(tokens, 1);
    derivative.forEach((row, b) => {
      row.forEach((slope, t) => {
        gradient[b]![t] = slope / Math.max(tokens, 1);
      });
    });
  } else if (aggregation === 'sequence-mean') {
    const nonEmpty =
      emptyRows === 'count'
        ? batch.mask.length
        : batch.mask.filter((row) => row.some((flag) => flag === 1)).length;
    perToken.forEach((row, b) => {
      const count = batch.mask[b]!.reduce((a, c) => a + c, 0);
      if (count === 0) return;
      loss += row.reduce((a, c) => a + c, 0) / count / nonEmpty;
      row.forEach((_, t) => {
        gradient[b]![t] = derivative[b]![t]! / count / nonEmpty;
      });
    });
  } else {
    loss = perToken.flat().reduce((a, c) => a + c, 0) / (rows * columns);
    derivative.forEach((row, b) => {
      row.forEach((slope, t) => {
        gradient[b]![t] = slope / (rows * columns);
      });
    });
  }
  return { loss, gradient, clipFraction: clippedCount / Math.max(tokens, 1) };
}

/**
 * Random batch whose points keep a margin of 0.05 from every kink (the clip
 * bounds and the tie between the clipped and unclipped errors), so central
 * differences with step 1e-2 never cross one.
 */
function randomBatch(random: Random, rows: number, columns: number, clipRange: number): Batch {
  const batch: Batch = { values: [], oldValues: [], returns: [], mask: [] };
  for (let b = 0; b < rows; b++) {
    const values: number[] = [];
    const oldValues: number[] = [];
    const returns: number[] = [];
    const mask: number[] = [];
    for (let t = 0; t < columns; t++) {
      for (;;) {
        const old = random.uniform(-1, 1);
        const value = old + random.uniform(-3 * clipRange, 3 * clipRange);
        const target = random.uniform(-2, 2);
        const offset = Math.abs(value - old);
        const bound = Math.min(Math.max(value, old - clipRange), old + clipRange);
        const gap = Math.abs((bound - target) ** 2 - (value - target) ** 2);
        if (Math.abs(offset - clipRange) < 0.05 || (offset > clipRange && gap < 0.05)) continue;
        values.push(value);
        oldValues.push(old);
        returns.push(target);
        break;
      }
      mask.push(random.bernoulli(0.75) ? 1 : 0);
    }
    batch.values.push(values);
    batch.oldValues.push(oldValues);
    batch.returns.push(returns);
    batch.mask.push(mask);
  }
  return batch;
}

function lossOf(
  batch: Batch,
  values: tf.Tensor,
  clipRange: number | undefined,
  aggregation: ValueLossAggregation,
  emptyRows?: 'count' | 'exclude',
) {
  return valueLoss({
    values,
    oldValues: tf.tensor2d(batch.oldValues),
    returns: tf.tensor2d(batch.returns),
    mask: tf.tensor2d(batch.mask),
    clipRange,
    aggregation,
    ...(emptyRows === undefined ? {} : { emptyRows }),
  });
}

describe('valueLoss', () => {
  let tensorsBefore = 0;
  beforeAll(() => {
    tensorsBefore = tf.memory().numTensors;
  });
  afterAll(() => {
    tf.disposeVariables();
  });

  it('matches the hand-computed example', () => {
    tf.tidy(() => {
      const { loss, metrics } = valueLoss({
        values: tf.tensor2d([[0.5, 1.0]]),
        oldValues: tf.tensor2d([[0.4, 0.2]]),
        returns: tf.tensor2d([[1, 0]]),
        mask: tf.tensor2d([[1, 1]]),
        clipRange: 0.2,
      });
      // token 0 inside the range: 0.25; token 1: max(1, (0.4 - 0)^2 = 0.16) = 1.
      expect(loss.dataSync()[0]).toBeCloseTo(0.3125, 6);
      expect(metrics.clipFraction).toBe(0);
      expect(metrics.tokenCount).toBe(2);
      expect(metrics.meanSquaredError).toBeCloseTo(0.625, 6);
      // Clipping active: V = 1 is clipped to 0.4 while the target is 1: max(0, 0.36).
      const active = valueLoss({
        values: tf.tensor1d([1.0, 0.0]),
        oldValues: tf.tensor1d([0.2, 0.0]),
        returns: tf.tensor1d([1.0, 0.5]),
        mask: tf.tensor1d([1, 1]),
        clipRange: 0.2,
      });
      expect(active.loss.dataSync()[0]).toBeCloseTo((0.5 * 0.36 + 0.5 * 0.25) / 2, 6);
      expect(active.metrics.clipFraction).toBe(0.5);
      expect(active.metrics.meanValue).toBeCloseTo(0.5, 6);
      expect(active.metrics.meanReturn).toBeCloseTo(0.75, 6);
    });
  });

  it('agrees with a float64 reference for every aggregation, clipped and not', () => {
    const random = new Random(42);
    for (const clipRange of [undefined, 0.2]) {
      for (const aggregation of ['token-mean', 'sequence-mean', 'constant'] as const) {
        const batch = randomBatch(random, 4, 6, 0.2);
        batch.mask[2] = [0, 0, 0, 0, 0, 0];
        const expected = referenceLoss(batch, clipRange, aggregation);
        tf.tidy(() => {
          const { loss, metrics } = lossOf(
            batch,
            tf.tensor2d(batch.values),
            clipRange,
            aggregation,
          );
          expect(loss.dataSync()[0]! / expected.loss).toBeCloseTo(1, 5);
          expect(metrics.clipFraction).toBeCloseTo(expected.clipFraction, 6);
          if (clipRange === undefined) expect(metrics.clipFraction).toBe(0);
        });
      }
    }
  });

  it("sequence-mean leaves empty rows out with emptyRows 'exclude' (verl), counts them by default", () => {
    const random = new Random(43);
    const batch = randomBatch(random, 4, 6, 0.2);
    batch.mask[1] = [0, 0, 0, 0, 0, 0];
    for (const emptyRows of ['count', 'exclude'] as const) {
      const expected = referenceLoss(batch, 0.2, 'sequence-mean', emptyRows);
      tf.tidy(() => {
        const { loss } = lossOf(batch, tf.tensor2d(batch.values), 0.2, 'sequence-mean', emptyRows);
        expect(loss.dataSync()[0]! / expected.loss).toBeCloseTo(1, 5);
      });
    }
    const count = referenceLoss(batch, 0.2, 'sequence-mean', 'count').loss;
    const exclude = referenceLoss(batch, 0.2, 'sequence-mean', 'exclude').loss;
    expect(count / exclude).toBeCloseTo(3 / 4, 10);
    expect(() =>
      tf.tidy(() => lossOf(batch, tf.tensor2d(batch.values), 0.2, 'token-mean', 'exclude').loss),
    ).toThrow(/emptyRows/);
  });

  it('has the gradient of finite differences and of the float64 reference', () => {
    const random = new Random(7);
    for (const clipRange of [undefined, 0.2]) {
      for (const aggregation of ['token-mean', 'sequence-mean', 'constant'] as const) {
        const batch = randomBatch(random, 3, 4, 0.2);
        batch.mask[0]![0] = 1;
        const expected = referenceLoss(batch, clipRange, aggregation).gradient;
        const gradient = tf.tidy(() =>
          tf
            .grad((values: tf.Tensor) => lossOf(batch, values, clipRange, aggregation).loss)(
              tf.tensor2d(batch.values),
            )
            .arraySync(),
        ) as number[][];
        const step = 1e-2;
        const evaluate = (values: number[][]) =>
          tf.tidy(
            () => lossOf(batch, tf.tensor2d(values), clipRange, aggregation).loss.dataSync()[0]!,
          );
        let largest = 0;
        for (const row of expected)
          for (const value of row) largest = Math.max(largest, Math.abs(value));
        batch.values.forEach((row, b) => {
          row.forEach((value, t) => {
            const plus = batch.values.map((r) => [...r]);
            const minus = batch.values.map((r) => [...r]);
            plus[b]![t] = value + step;
            minus[b]![t] = value - step;
            const numeric = (evaluate(plus) - evaluate(minus)) / (2 * step);
            const analytic = gradient[b]![t]!;
            expect(Math.abs(analytic - numeric)).toBeLessThanOrEqual(1e-2 * largest + 1e-5);
            expect(Math.abs(analytic - expected[b]![t]!)).toBeLessThanOrEqual(
              1e-5 * largest + 1e-7,
            );
          });
        });
        // Some gradients must be non-zero for the check to mean anything.
        expect(largest).toBeGreaterThan(1e-3);
      }
    }
  });

  it('gives the clipped gradient 0 where the clipped term wins and V is outside the range', () => {
    tf.tidy(() => {
      const gradient = tf.grad(
        (values: tf.Tensor) =>
          valueLoss({
            values,
            oldValues: tf.tensor1d([0.2]),
            returns: tf.tensor1d([1.0]),
            mask: tf.tensor1d([1]),
            clipRange: 0.2,
          }).loss,
      )(tf.tensor1d([1.0]));
      expect(gradient.dataSync()[0]).toBe(0);
    });
  });

  it('gives 0 for a mask with no 1 and leaks no tensors', () => {
    const { loss, metrics } = valueLoss({
      values: tf.tensor2d([[1, 2]]),
      returns: tf.tensor2d([[0, 0]]),
      mask: tf.tensor2d([[0, 0]]),
    });
    expect(loss.dataSync()[0]).toBe(0);
    expect(metrics.tokenCount).toBe(0);
    loss.dispose();
    // Only the three inputs created above remain beyond what existed before.
    expect(tf.memory().numTensors - tensorsBefore).toBe(3);
  });

  it('refuses NaN, bad masks and mismatched shapes with typed errors', () => {
    tf.tidy(() => {
      const ok = tf.tensor2d([[0, 0]]);
      try {
        valueLoss({
          values: tf.tensor2d([[0, Number.NaN]]),
          returns: ok,
          mask: tf.tensor2d([[1, 1]]),
        });
        expect.unreachable();
      } catch (error) {
        expect(NonFiniteError.isInstance(error)).toBe(true);
        expect((error as NonFiniteError).quantity).toBe('values[0][1]');
      }
      expect(() => valueLoss({ values: ok, returns: ok, mask: tf.tensor2d([[1, 0.5]]) })).toThrow(
        /mask\[0\]\[1\] = 0.5: must be 0 or 1/,
      );
      expect(() => valueLoss({ values: ok, returns: tf.tensor2d([[0, 0, 0]]), mask: ok })).toThrow(
        /returns.shape/,
      );
      expect(() => valueLoss({ values: ok, returns: ok, mask: ok, clipRange: 0.2 })).toThrow(
        /oldValues/,
      );
      expect(() =>
        valueLoss({ values: ok, oldValues: ok, returns: ok, mask: ok, clipRange: -1 }),
      ).toThrow(InvalidArgumentError);
      expect(() =>
        valueLoss({ values: ok, returns: ok, mask: ok, aggregation: 'sum' as 'constant' }),
      ).toThrow(/aggregation/);
      expect(() => valueLoss({ values: tf.zeros([1, 1, 1]), returns: ok, mask: ok })).toThrow(
        /values.shape/,
      );
    });
  });
});
