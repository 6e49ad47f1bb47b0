import { InvalidArgumentError, NonFiniteError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactKl, exactKlTensor } from './exact-kl';

/** KL from probabilities (softmax by normalized exponentials) and log of their ratio. */
function referenceKl(logits: number[], refLogits: number[]): number {
  const shift = Math.max(...logits, ...refLogits);
  const p = logits.map((z) => Math.exp(z - shift));
  const q = refLogits.map((z) => Math.exp(z - shift));
  const pTotal = p.reduce((a, b) => a + b, 0);
  const qTotal = q.reduce((a, b) => a + b, 0);
  let kl = 0;
  p.forEach((value, index) => {
    const pi = value / pTotal;
    const qi = q[index]! / qTotal;
    if (pi > 0) kl += pi * Math.log(pi / qi);
  });
  return kl;
}

function randomLogits(random: Random, rows: number, vocab: number, spread: number): number[][] {
  return Array.from({ length: rows }, () =>
    Array.from({ length: vocab }, () => random.normal(0, spread)),
  );
}

describe('exactKl on arrays', () => {
  it('matches a value computed by hand', () => {
    // p = (1/2, 1/2), q = (3/4, 1/4)
    const expected = 0.5 * Math.log(0.5 / 0.75) + 0.5 * Math.log(0.5 / 0.25);
    expect(exactKl({ logits: [0, 0], refLogits: [Math.log(3), 0] })).toBeCloseTo(expected, 12);
    expect(expected).toBeCloseTo(0.143841036, 8);
  });

  it('matches the reference on random rows, honours the mask, and is shift invariant for huge logits', () => {
    const random = new Random(21);
    const logits = randomLogits(random, 4, 7, 2);
    const refLogits = randomLogits(random, 4, 7, 2);
    const result = exactKl({ logits, refLogits, mask: [1, 0, 1, 1] });
    result.forEach((value, index) => {
      const want = index === 1 ? 0 : referenceKl(logits[index]!, refLogits[index]!);
      expect(value).toBeCloseTo(want, 12);
    });
    const shifted = exactKl({
      logits: logits.map((row) => row.map((z) => z + 1e4)),
      refLogits: refLogits.map((row) => row.map((z) => z - 1e4)),
    });
    shifted.forEach((value, index) => {
      expect(value).toBeCloseTo(referenceKl(logits[index]!, refLogits[index]!), 8);
    });
  });

  it('is 0 for equal logits and never negative (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 12, maxLength: 12 }),
        (logits, other) => {
          const refLogits = other.slice(0, logits.length);
          return (
            exactKl({ logits, refLogits }) >= 0 &&
            Math.abs(exactKl({ logits, refLogits: logits })) < 1e-12
          );
        },
      ),
      { seed: 5, numRuns: 300 },
    );
  });

  it('rejects NaN, empty vocabularies and mismatched shapes', () => {
    try {
      exactKl({
        logits: [
          [0, 1],
          [Number.NaN, 0],
        ],
        refLogits: [
          [0, 1],
          [0, 0],
        ],
      });
      expect.unreachable();
    } catch (error) {
      expect(NonFiniteError.isInstance(error)).toBe(true);
      expect((error as NonFiniteError).quantity).toBe('logits[1][0]');
    }
    expect(() => exactKl({ logits: [], refLogits: [] })).toThrow(InvalidArgumentError);
    expect(() => exactKl({ logits: [0, 1], refLogits: [0, 1, 2] })).toThrow(
      /refLogits.*\[2\].*\[3\]/,
    );
    expect(() => exactKl({ logits: [[0], [1]], refLogits: [[0], [1]], mask: [1] })).toThrow(/mask/);
  });
});

describe('exactKlTensor', () => {
  it('agrees with the reference on [B, L, V] logits with a mask', () => {
    const random = new Random(8);
    const flat = randomLogits(random, 6, 5, 3);
    const flatRef = randomLogits(random, 6, 5, 3);
    const logits = tf.tensor3d([flat.slice(0, 3), flat.slice(3)]);
    const refLogits = tf.tensor3d([flatRef.slice(0, 3), flatRef.slice(3)]);
    const mask = tf.tensor2d([
      [1, 1, 0],
      [1, 0, 1],
    ]);
    const before = tf.memory().numTensors;
    const result = exactKlTensor({ logits, refLogits, mask });
    expect(result.shape).toEqual([2, 3]);
    const values = Array.from(result.dataSync());
    result.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const maskValues = [1, 1, 0, 1, 0, 1];
    values.forEach((value, index) => {
      const want = maskValues[index] === 1 ? referenceKl(flat[index]!, flatRef[index]!) : 0;
      expect(Math.abs(value - want)).toBeLessThan(1e-5 * Math.max(1, want));
    });
    tf.dispose([logits, refLogits, mask]);
  });

  it('is 0 for equal logits, stable for huge logits', () => {
    const logits = tf.tensor2d([
      [1e4, 0, -1e4],
      [3, 2, 1],
    ]);
    const same = exactKlTensor({ logits, refLogits: logits });
    expect(Math.max(...Array.from(same.dataSync()).map(Math.abs))).toBeLessThan(1e-6);
    const refLogits = tf.tensor2d([
      [1e4 - 1, 0, -1e4],
      [1, 2, 3],
    ]);
    const different = exactKlTensor({ logits, refLogits });
    const values = Array.from(different.dataSync());
    expect(values[0]).toBeCloseTo(referenceKl([1e4, 0, -1e4], [1e4 - 1, 0, -1e4]), 5);
    expect(values[1]).toBeCloseTo(referenceKl([3, 2, 1], [1, 2, 3]), 5);
    tf.dispose([logits, same, refLogits, different]);
  });

  it('gradients w.r.t. logits and refLogits match finite differences of the float64 reference', () => {
    const random = new Random(13);
    const logits = randomLogits(random, 3, 4, 1.5);
    const refLogits = randomLogits(random, 3, 4, 1.5);
    const weights = [0.5, 1.5, -1];
    const objective = (a: number[][], b: number[][]) =>
      a.reduce((sum, row, i) => sum + weights[i]! * referenceKl(row, b[i]!), 0);
    const weightTensor = tf.tensor1d(weights);
    const [gradLogits, gradRef] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(weightTensor, exactKlTensor({ logits: x, refLogits: y }))),
    )([tf.tensor2d(logits), tf.tensor2d(refLogits)]);
    const analyticLogits = gradLogits!.arraySync() as number[][];
    const analyticRef = gradRef!.arraySync() as number[][];
    tf.dispose([gradLogits!, gradRef!, weightTensor]);
    const eps = 1e-6;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        const bump = (rows: number[][], delta: number) =>
          rows.map((row, r) => row.map((z, c) => (r === i && c === j ? z + delta : z)));
        const numericLogits =
          (objective(bump(logits, eps), refLogits) - objective(bump(logits, -eps), refLogits)) /
          (2 * eps);
        const numericRef =
          (objective(logits, bump(refLogits, eps)) - objective(logits, bump(refLogits, -eps))) /
          (2 * eps);
        expect(Math.abs(analyticLogits[i]![j]! - numericLogits)).toBeLessThan(
          1e-4 + 1e-2 * Math.abs(numericLogits),
        );
        expect(Math.abs(analyticRef[i]![j]! - numericRef)).toBeLessThan(
          1e-4 + 1e-2 * Math.abs(numericRef),
        );
      }
    }
  });

  it('validates shapes', () => {
    const logits = tf.zeros([2, 3]);
    const refLogits = tf.zeros([2, 4]);
    const mask = tf.zeros([3]);
    expect(() => exactKlTensor({ logits, refLogits })).toThrow(/refLogits = "\[2, 4\]".*\[2, 3\]/);
    expect(() => exactKlTensor({ logits, refLogits: logits, mask })).toThrow(
      /mask = "\[3\]".*\[2\]/,
    );
    tf.dispose([logits, refLogits, mask]);
  });
});
