import { InvalidArgumentError, NonFiniteError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { K3_LINEAR_ABOVE, klPerToken, klPerTokenTensor } from './kl-per-token';

/** k3 by its power series sum_{n>=2} d^n / n!, a different route from expm1. */
function k3BySeries(d: number): number {
  let term = d;
  let total = 0;
  for (let n = 2; n < 80; n++) {
    term *= d / n;
    total += term;
  }
  return total;
}

function referenceKl(logProb: number, refLogProb: number, estimator: 'k1' | 'k2' | 'k3'): number {
  const ratio = refLogProb - logProb;
  if (estimator === 'k1') return logProb - refLogProb;
  if (estimator === 'k2') return (ratio * ratio) / 2;
  return k3BySeries(ratio);
}

function randomRows(random: Random, rows: number, columns: number, spread: number): number[][] {
  return Array.from({ length: rows }, () =>
    Array.from({ length: columns }, () => random.uniform(-spread, 0)),
  );
}

describe('klPerToken on arrays', () => {
  it('matches values computed by hand', () => {
    // d = ref - logp = -1 and 1.5
    const logProbs = [-1, -2];
    const refLogProbs = [-2, -0.5];
    expect(klPerToken({ logProbs, refLogProbs, estimator: 'k1' })).toEqual([1, -1.5]);
    expect(klPerToken({ logProbs, refLogProbs, estimator: 'k2' })).toEqual([0.5, 1.125]);
    const k3 = klPerToken({ logProbs, refLogProbs, estimator: 'k3' });
    expect(k3[0]).toBeCloseTo(0.36787944117, 10);
    expect(k3[1]).toBeCloseTo(1.98168907034, 10);
  });

  it('matches an independent reference on ragged nested rows', () => {
    const random = new Random(7);
    const logProbs = [randomRows(random, 1, 5, 4)[0]!, randomRows(random, 1, 2, 4)[0]!, []];
    const refLogProbs = [randomRows(random, 1, 5, 4)[0]!, randomRows(random, 1, 2, 4)[0]!, []];
    for (const estimator of ['k1', 'k2', 'k3'] as const) {
      const result = klPerToken({ logProbs, refLogProbs, estimator });
      expect(result.map((row) => row.length)).toEqual([5, 2, 0]);
      result.forEach((row, i) => {
        row.forEach((value, j) => {
          expect(value).toBeCloseTo(
            referenceKl(logProbs[i]![j]!, refLogProbs[i]![j]!, estimator),
            12,
          );
        });
      });
    }
  });

  it('keeps full relative precision for tiny log-ratios', () => {
    for (const d of [1e-12, -3e-9, 2e-6, -5e-4, 9e-4]) {
      const [value] = klPerToken({ logProbs: [-1], refLogProbs: [-1 + d], estimator: 'k3' });
      // logp_ref - logp is itself rounded, so compare with the rounded log-ratio
      const rounded = -1 + d - -1;
      expect(Math.abs(value! - k3BySeries(rounded)) / k3BySeries(rounded)).toBeLessThan(1e-12);
    }
  });

  it('stays finite for huge log-ratios and continues k3 linearly above 80', () => {
    const [negative] = klPerToken({ logProbs: [0], refLogProbs: [-500], estimator: 'k3' });
    expect(negative).toBeCloseTo(499, 10); // exp(-500) - (-500) - 1
    const [positive] = klPerToken({ logProbs: [-200], refLogProbs: [0], estimator: 'k3' });
    const tangent = Math.exp(K3_LINEAR_ABOVE) * (1 + 200 - K3_LINEAR_ABOVE) - 200 - 1;
    expect(positive! / tangent).toBeCloseTo(1, 12);
    expect(
      Number.isFinite(klPerToken({ logProbs: [-1e6], refLogProbs: [0], estimator: 'k3' })[0]),
    ).toBe(true);
  });

  it('clamps when asked', () => {
    const result = klPerToken({
      logProbs: [-30, 0, -1],
      refLogProbs: [0, -30, -1.5],
      estimator: 'k1',
      clamp: 10,
    });
    expect(result).toEqual([-10, 10, 0.5]);
  });

  it('returns an empty array for empty input', () => {
    expect(klPerToken({ logProbs: [], refLogProbs: [], estimator: 'k3' })).toEqual([]);
  });

  it('rejects NaN, mismatched shapes and unknown estimators with typed errors', () => {
    expect(() =>
      klPerToken({ logProbs: [[0], [Number.NaN]], refLogProbs: [[0], [0]], estimator: 'k3' }),
    ).toThrow(/logProbs\[1\]\[0\] is NaN/);
    try {
      klPerToken({ logProbs: [0, 0], refLogProbs: [0, Number.POSITIVE_INFINITY], estimator: 'k1' });
      expect.unreachable();
    } catch (error) {
      expect(NonFiniteError.isInstance(error)).toBe(true);
      expect((error as NonFiniteError).quantity).toBe('refLogProbs[1]');
    }
    try {
      klPerToken({
        logProbs: [[0, 0], [0]],
        refLogProbs: [
          [0, 0],
          [0, 0],
        ],
        estimator: 'k1',
      });
      expect.unreachable();
    } catch (error) {
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/refLogProbs.*shape \[2, 1\].*shape \[2, 2\]/);
    }
    expect(() =>
      klPerToken({ logProbs: [0], refLogProbs: [0], estimator: 'k4' as unknown as 'k1' }),
    ).toThrow(/estimator = "k4"/);
    expect(() =>
      klPerToken({ logProbs: [0], refLogProbs: [0], estimator: 'k3', clamp: -1 }),
    ).toThrow(/clamp/);
  });

  it('k3 and k2 are never negative (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -60, max: 0, noNaN: true }),
        fc.double({ min: -60, max: 0, noNaN: true }),
        (logProb, refLogProb) => {
          const [k3] = klPerToken({
            logProbs: [logProb],
            refLogProbs: [refLogProb],
            estimator: 'k3',
          });
          const [k2] = klPerToken({
            logProbs: [logProb],
            refLogProbs: [refLogProb],
            estimator: 'k2',
          });
          return k3! >= 0 && k2! >= 0;
        },
      ),
      { seed: 11, numRuns: 500 },
    );
  });
});

describe('klPerTokenTensor', () => {
  it('agrees with the array version on random inputs, for every estimator', () => {
    const random = new Random(3);
    const logProbs = randomRows(random, 3, 6, 6);
    const refLogProbs = randomRows(random, 3, 6, 6);
    refLogProbs[0]![0] = logProbs[0]![0]! + 1e-3; // series branch
    refLogProbs[0]![1] = logProbs[0]![1]!; // exactly equal
    for (const estimator of ['k1', 'k2', 'k3'] as const) {
      const expected = klPerToken({ logProbs, refLogProbs, estimator });
      const tensor = klPerTokenTensor({
        logProbs: tf.tensor2d(logProbs),
        refLogProbs: tf.tensor2d(refLogProbs),
        estimator,
      });
      const actual = tensor.arraySync() as number[][];
      tensor.dispose();
      actual.forEach((row, i) => {
        row.forEach((value, j) => {
          const want = expected[i]![j]!;
          expect(Math.abs(value - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
        });
      });
    }
  });

  it('keeps relative precision for tiny log-ratios in float32', () => {
    const d = [1e-6, -4e-5, 3e-3, -9e-3];
    const logProbs = tf.zeros([4]);
    const refLogProbs = tf.tensor1d(d);
    const result = klPerTokenTensor({ logProbs, refLogProbs, estimator: 'k3' });
    const values = Array.from(result.dataSync());
    const stored = Array.from(refLogProbs.dataSync());
    values.forEach((value, index) => {
      const want = k3BySeries(stored[index]!);
      expect(Math.abs(value - want) / want).toBeLessThan(1e-5);
    });
    tf.dispose([logProbs, refLogProbs, result]);
  });

  it('has finite values and gradients for huge log-ratios', () => {
    const logProbs = tf.tensor1d([-200, 0, -1e4, -3]);
    const refLogProbs = tf.tensor1d([0, -500, 0, -3]);
    const gradient = tf.grad((x: tf.Tensor) =>
      klPerTokenTensor({ logProbs: x, refLogProbs, estimator: 'k3' }).sum(),
    )(logProbs);
    const values = klPerTokenTensor({ logProbs, refLogProbs, estimator: 'k3' });
    expect(Array.from(values.dataSync()).every(Number.isFinite)).toBe(true);
    const gradientValues = Array.from(gradient.dataSync());
    expect(gradientValues.every(Number.isFinite)).toBe(true);
    // d k3 / d logp = 1 - exp(d), with exp frozen at its tangent value above d = 50
    expect(gradientValues[0]! / -Math.exp(K3_LINEAR_ABOVE)).toBeCloseTo(1, 5);
    expect(gradientValues[2]! / -Math.exp(K3_LINEAR_ABOVE)).toBeCloseTo(1, 5);
    expect(gradientValues[1]).toBeCloseTo(1, 5);
    expect(gradientValues[3]).toBeCloseTo(0, 6);
    tf.dispose([logProbs, refLogProbs, gradient, values]);
  });

  it('gradients match finite differences of the float64 reference (k1, k2, k3)', () => {
    const random = new Random(5);
    const logProbs = randomRows(random, 2, 4, 3);
    const refLogProbs = randomRows(random, 2, 4, 3);
    refLogProbs[1]![2] = logProbs[1]![2]! + 4e-3; // inside the series branch
    const weights = randomRows(random, 2, 4, 1).map((row) => row.map((w) => w + 1.5));
    const refTensor = tf.tensor2d(refLogProbs);
    const weightTensor = tf.tensor2d(weights);
    for (const estimator of ['k1', 'k2', 'k3'] as const) {
      const objective = (rows: number[][]) =>
        rows.reduce(
          (sum, row, i) =>
            sum +
            row.reduce(
              (inner, lp, j) =>
                inner + weights[i]![j]! * referenceKl(lp, refLogProbs[i]![j]!, estimator),
              0,
            ),
          0,
        );
      const gradient = tf.grad((x: tf.Tensor) =>
        tf.sum(
          tf.mul(
            weightTensor,
            klPerTokenTensor({ logProbs: x, refLogProbs: refTensor, estimator }),
          ),
        ),
      )(tf.tensor2d(logProbs));
      const analytic = gradient.arraySync() as number[][];
      gradient.dispose();
      const eps = 1e-6;
      logProbs.forEach((row, i) => {
        row.forEach((_, j) => {
          const plus = logProbs.map((r) => [...r]);
          const minus = logProbs.map((r) => [...r]);
          plus[i]![j]! += eps;
          minus[i]![j]! -= eps;
          const numeric = (objective(plus) - objective(minus)) / (2 * eps);
          expect(Math.abs(analytic[i]![j]! - numeric)).toBeLessThan(
            1e-3 * Math.max(1, Math.abs(numeric)),
          );
        });
      });
    }
    tf.dispose([refTensor, weightTensor]);
  });

  it('k3 is never negative on tensors (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: 1, maxLength: 16 }),
        (ratios) => {
          const logProbs = tf.zeros([ratios.length]);
          const refLogProbs = tf.tensor1d(ratios);
          const result = klPerTokenTensor({ logProbs, refLogProbs, estimator: 'k3' });
          const ok = Array.from(result.dataSync()).every((value) => value >= 0);
          tf.dispose([logProbs, refLogProbs, result]);
          return ok;
        },
      ),
      { seed: 12, numRuns: 200 },
    );
  });

  it('clamps, validates shapes, and leaks no tensors', () => {
    const logProbs = tf.tensor2d([[-30, 0]]);
    const refLogProbs = tf.tensor2d([[0, -30]]);
    const before = tf.memory().numTensors;
    const clamped = klPerTokenTensor({ logProbs, refLogProbs, estimator: 'k3', clamp: 10 });
    expect(Array.from(clamped.dataSync())).toEqual([10, 10]);
    clamped.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const wrong = tf.zeros([2, 1]);
    expect(() => klPerTokenTensor({ logProbs, refLogProbs: wrong, estimator: 'k1' })).toThrow(
      /refLogProbs = "\[2, 1\]".*shape \[1, 2\]/,
    );
    expect(() =>
      klPerTokenTensor({ logProbs: [0] as unknown as tf.Tensor, refLogProbs, estimator: 'k1' }),
    ).toThrow(/logProbs.*tf.Tensor/);
    tf.dispose([logProbs, refLogProbs, wrong]);
  });
});
