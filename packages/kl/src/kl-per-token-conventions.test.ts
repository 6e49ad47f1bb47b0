import { InvalidArgumentError, NonFiniteError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { klPerToken, klPerTokenTensor } from './kl-per-token';

/** verl `kl_penalty_forward(..., 'low_var_kl')`, written from its formula in float64. */
function verlLowVarKl(logProb: number, refLogProb: number): number {
  const d = Math.min(20, Math.max(-20, refLogProb - logProb));
  return Math.min(10, Math.max(-10, Math.exp(d) - d - 1));
}

/** NeMo-RL `calculate_kl(kl_type, input_clamp_value, output_clamp_value)` in float64. */
function nemoKl(
  logProb: number,
  refLogProb: number,
  type: 'k1' | 'k2' | 'k3',
  inputClamp: number,
  outputClamp: number,
): number {
  const d = Math.min(inputClamp, Math.max(-inputClamp, refLogProb - logProb));
  const kl = type === 'k1' ? -d : type === 'k2' ? (d * d) / 2 : Math.exp(d) - 1 - d;
  return Math.min(outputClamp, Math.max(-outputClamp, kl));
}

function randomRows(random: Random, rows: number, columns: number, spread: number): number[][] {
  return Array.from({ length: rows }, () =>
    Array.from({ length: columns }, () => random.uniform(-spread, 0)),
  );
}

describe('KL conventions of the peers', () => {
  it('abs is |logp - logp_ref| (verl, TRL PPO)', () => {
    expect(
      klPerToken({ logProbs: [-1, -2, -0.5], refLogProbs: [-2, -0.5, -0.5], estimator: 'abs' }),
    ).toEqual([1, 1.5, 0]);
  });

  it("logRatioClamp + clamp reproduce verl's low_var_kl and NeMo-RL's calculate_kl", () => {
    const random = new Random(11);
    // Spread 40 puts log-ratios beyond both clamps.
    const logProbs = randomRows(random, 3, 7, 40);
    const refLogProbs = randomRows(random, 3, 7, 40);
    const verl = klPerToken({
      logProbs,
      refLogProbs,
      estimator: 'k3',
      logRatioClamp: 20,
      clamp: 10,
    });
    let clippedInputs = 0;
    logProbs.forEach((row, b) => {
      row.forEach((logProb, t) => {
        const ref = refLogProbs[b]![t]!;
        if (Math.abs(ref - logProb) > 20) clippedInputs++;
        expect(verl[b]![t]).toBeCloseTo(verlLowVarKl(logProb, ref), 10);
      });
    });
    expect(clippedInputs).toBeGreaterThan(0);
    for (const type of ['k1', 'k2', 'k3'] as const) {
      const ours = klPerToken({
        logProbs,
        refLogProbs,
        estimator: type,
        logRatioClamp: 5,
        clamp: 3,
      });
      logProbs.forEach((row, b) => {
        row.forEach((logProb, t) => {
          expect(ours[b]![t]).toBeCloseTo(nemoKl(logProb, refLogProbs[b]![t]!, type, 5, 3), 10);
        });
      });
    }
    // Hand value: d = 30 clipped to 20 before k3, no output clamp.
    const [k3] = klPerToken({
      logProbs: [-30],
      refLogProbs: [0],
      estimator: 'k3',
      logRatioClamp: 20,
    });
    expect(k3! / (Math.exp(20) - 21)).toBeCloseTo(1, 12);
  });

  it('the tensor version agrees, with both clamps, for every estimator', () => {
    const random = new Random(12);
    const logProbs = randomRows(random, 2, 9, 30);
    const refLogProbs = randomRows(random, 2, 9, 30);
    for (const estimator of ['k1', 'k2', 'k3', 'abs'] as const) {
      const expected = klPerToken({
        logProbs,
        refLogProbs,
        estimator,
        logRatioClamp: 8,
        clamp: 50,
      });
      const actual = tf.tidy(() =>
        klPerTokenTensor({
          logProbs: tf.tensor2d(logProbs),
          refLogProbs: tf.tensor2d(refLogProbs),
          estimator,
          logRatioClamp: 8,
          clamp: 50,
        }).arraySync(),
      ) as number[][];
      actual.forEach((row, b) => {
        row.forEach((value, t) => {
          expect(value).toBeCloseTo(expected[b]![t]!, 3);
        });
      });
    }
  });

  it('a mask gives 0 on masked positions and lets padding hold NaN (arrays)', () => {
    const result = klPerToken({
      logProbs: [
        [-1, Number.NaN],
        [-2, -1],
      ],
      refLogProbs: [
        [-2, Number.POSITIVE_INFINITY],
        [-0.5, -1],
      ],
      mask: [
        [1, 0],
        [1, 1],
      ],
      estimator: 'k1',
    });
    // `+ 0` turns k1's -0 (of d = 0) into 0 for toEqual.
    expect(result.map((row) => row.map((value) => value + 0))).toEqual([
      [1, 0],
      [-1.5, 0],
    ]);
    // An unmasked NaN is still refused, and named.
    expect(() =>
      klPerToken({
        logProbs: [Number.NaN, -1],
        refLogProbs: [0, 0],
        mask: [1, 0],
        estimator: 'k1',
      }),
    ).toThrow(NonFiniteError);
    expect(() =>
      klPerToken({ logProbs: [-1, -1], refLogProbs: [0, 0], mask: [1, 0.5], estimator: 'k1' }),
    ).toThrow(/mask\[1\]/);
    expect(() =>
      klPerToken({ logProbs: [-1, -1], refLogProbs: [0, 0], mask: [1], estimator: 'k1' }),
    ).toThrow(InvalidArgumentError);
  });

  it('a mask zeroes value and gradient on tensors, even over NaN padding', () => {
    const logProbs = tf.tensor2d([
      [-1, Number.NaN, -0.3],
      [-2, -1, Number.NaN],
    ]);
    const refLogProbs = tf.tensor2d([
      [-2, -1, -0.1],
      [-0.5, -1, -3],
    ]);
    const mask = tf.tensor2d([
      [1, 0, 1],
      [1, 1, 0],
    ]);
    const value = tf.tidy(() =>
      klPerTokenTensor({ logProbs, refLogProbs, mask, estimator: 'k3' }).arraySync(),
    ) as number[][];
    const expected = klPerToken({
      logProbs: [
        [-1, 0, -0.3],
        [-2, -1, 0],
      ],
      refLogProbs: [
        [-2, 0, -0.1],
        [-0.5, -1, 0],
      ],
      estimator: 'k3',
    });
    value.forEach((row, b) => {
      row.forEach((entry, t) => {
        expect(entry).toBeCloseTo(expected[b]![t]!, 5);
      });
    });
    const gradient = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) =>
          tf.sum(klPerTokenTensor({ logProbs: x, refLogProbs, mask, estimator: 'k3' })),
        )(logProbs)
        .arraySync(),
    ) as number[][];
    // d k3 / d logp = 1 - exp(ref - logp) on masked-in positions.
    expect(gradient[0]![0]).toBeCloseTo(1 - Math.exp(-1), 5);
    expect(Math.abs(gradient[0]![1]!)).toBe(0);
    expect(Math.abs(gradient[1]![2]!)).toBe(0);
    expect(gradient.flat().every(Number.isFinite)).toBe(true);
    tf.dispose([logProbs, refLogProbs, mask]);
  });

  it("straight-through ('k3+'): the value of the estimator, the gradient of k2, clamps or not", () => {
    const random = new Random(13);
    const logProbsRows = randomRows(random, 2, 5, 3);
    const refRows = randomRows(random, 2, 5, 3);
    const refLogProbs = tf.tensor2d(refRows);
    const logProbs = tf.tensor2d(logProbsRows);
    for (const estimator of ['k1', 'k3', 'abs'] as const) {
      const options = { refLogProbs, estimator, straightThrough: true, clamp: 0.5 } as const;
      const value = tf.tidy(() =>
        klPerTokenTensor({ ...options, logProbs }).arraySync(),
      ) as number[][];
      const expectedValue = klPerToken({
        logProbs: logProbsRows,
        refLogProbs: refRows,
        estimator,
        clamp: 0.5,
      });
      const gradient = tf.tidy(() =>
        tf
          .grad((x: tf.Tensor) => tf.sum(klPerTokenTensor({ ...options, logProbs: x })))(logProbs)
          .arraySync(),
      ) as number[][];
      logProbsRows.forEach((row, b) => {
        row.forEach((logProb, t) => {
          expect(value[b]![t]).toBeCloseTo(expectedValue[b]![t]!, 5);
          // Central difference of k2 = (logp - ref)^2 / 2 in float64.
          const step = 1e-6;
          const k2 = (x: number) => 0.5 * (x - refRows[b]![t]!) ** 2;
          const finiteDifference = (k2(logProb + step) - k2(logProb - step)) / (2 * step);
          expect(gradient[b]![t]).toBeCloseTo(finiteDifference, 4);
        });
      });
    }
    // Without straight-through, k3's own gradient differs.
    const plain = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) =>
          tf.sum(klPerTokenTensor({ logProbs: x, refLogProbs, estimator: 'k3' })),
        )(logProbs)
        .arraySync(),
    ) as number[][];
    expect(plain[0]![0]).toBeCloseTo(1 - Math.exp(refRows[0]![0]! - logProbsRows[0]![0]!), 4);
    expect(() =>
      klPerToken({ logProbs: [-1], refLogProbs: [-1], estimator: 'k3', straightThrough: true }),
    ).toThrow(/straightThrough/);
    expect(() =>
      klPerToken({ logProbs: [-1], refLogProbs: [-1], estimator: 'k3', logRatioClamp: 0 }),
    ).toThrow(/logRatioClamp/);
    tf.dispose([logProbs, refLogProbs]);
  });
});
