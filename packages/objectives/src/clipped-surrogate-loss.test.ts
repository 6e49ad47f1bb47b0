import { InvalidArgumentError, NonFiniteError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clippedSurrogateLoss } from './clipped-surrogate-loss';
import type { SurrogateOptions } from './objective-options';

interface Batch {
  logProbs: number[][];
  oldLogProbs: number[][];
  advantages: number[] | number[][];
  lossMask: number[][];
  refLogProbs?: number[][];
  entropy?: number[][];
}

const base: SurrogateOptions = {
  ratioLevel: 'token',
  clip: true,
  clipLow: 0.2,
  clipHigh: 0.2,
  aggregation: 'token-mean',
  klCoefficient: 0,
  klEstimator: 'k3',
  entropyCoefficient: 0,
};

/**
 * Reference written independently with plain loops, in float64: per token it
 * picks the PPO case by hand (which branch of the min is active) instead of
 * composing min/max/clip.
 */
function referenceObjective(batch: Batch, s: SurrogateOptions) {
  const rows = batch.logProbs.length;
  const width = batch.logProbs[0]?.length ?? 0;
  const lossPerToken: number[][] = [];
  let lowCount = 0;
  let highCount = 0;
  let dualCount = 0;
  let ratioSum = 0;
  let klOldSum = 0;
  let klRefSum = 0;
  let entropySum = 0;
  let count = 0;
  for (let b = 0; b < rows; b++) {
    let sequenceLogRatio = 0;
    let sequenceCount = 0;
    for (let t = 0; t < width; t++) {
      if (batch.lossMask[b]![t] === 1) {
        sequenceLogRatio += batch.logProbs[b]![t]! - batch.oldLogProbs[b]![t]!;
        sequenceCount++;
      }
    }
    const meanLogRatio = sequenceCount > 0 ? sequenceLogRatio / sequenceCount : 0;
    const row: number[] = [];
    for (let t = 0; t < width; t++) {
      if (batch.lossMask[b]![t] !== 1) {
        row.push(0);
        continue;
      }
      count++;
      const tokenLogRatio = batch.logProbs[b]![t]! - batch.oldLogProbs[b]![t]!;
      const ratio = Math.exp(s.ratioLevel === 'sequence' ? meanLogRatio : tokenLogRatio);
      const advantage = Array.isArray(batch.advantages[b])
        ? (batch.advantages[b] as number[])[t]!
        : (batch.advantages[b] as number);
      let loss: number;
      if (!s.clip) {
        loss = -ratio * advantage;
      } else if (advantage >= 0) {
        // objective min(rA, clip(r)A) with A >= 0 is A * min(r, 1 + high)
        const capped = ratio > 1 + s.clipHigh;
        if (capped && advantage > 0) highCount++;
        loss = -advantage * (capped ? 1 + s.clipHigh : ratio);
      } else {
        // with A < 0 it is A * max(r, 1 - low)
        const floored = ratio < 1 - s.clipLow;
        if (floored) lowCount++;
        loss = -advantage * (floored ? 1 - s.clipLow : ratio);
      }
      if (s.dualClip !== undefined && advantage < 0 && loss > s.dualClip * -advantage) {
        loss = s.dualClip * -advantage;
        dualCount++;
      }
      if (batch.refLogProbs) {
        const d = batch.refLogProbs[b]![t]! - batch.logProbs[b]![t]!;
        const kl =
          s.klEstimator === 'k1' ? -d : s.klEstimator === 'k2' ? (d * d) / 2 : Math.exp(d) - d - 1;
        klRefSum += kl;
        loss += s.klCoefficient * kl;
      }
      if (batch.entropy) {
        entropySum += batch.entropy[b]![t]!;
        loss -= s.entropyCoefficient * batch.entropy[b]![t]!;
      }
      ratioSum += ratio;
      klOldSum += Math.exp(-tokenLogRatio) + tokenLogRatio - 1;
      row.push(loss);
    }
    lossPerToken.push(row);
  }
  let loss = 0;
  if (s.aggregation === 'token-mean') {
    loss = lossPerToken.flat().reduce((a, v) => a + v, 0) / Math.max(count, 1);
  } else if (s.aggregation === 'sequence-mean') {
    for (let b = 0; b < rows; b++) {
      const n = batch.lossMask[b]!.filter((m) => m === 1).length;
      if (n > 0) loss += lossPerToken[b]!.reduce((a, v) => a + v, 0) / n;
    }
    loss /= Math.max(rows, 1);
  } else {
    const length = s.constantLength ?? width;
    loss = lossPerToken.flat().reduce((a, v) => a + v, 0) / Math.max(rows * length, 1);
  }
  const n = Math.max(count, 1);
  return {
    loss,
    clipFractionLow: lowCount / n,
    clipFractionHigh: highCount / n,
    clipFractionDual: dualCount / n,
    meanRatio: ratioSum / n,
    approxKlToOld: klOldSum / n,
    klToReference: klRefSum / n,
    entropy: entropySum / n,
    tokenCount: count,
  };
}

function randomBatch(
  random: Random,
  rows: number,
  width: number,
  options: { perTokenAdvantages?: boolean } = {},
): Batch {
  const oldLogProbs = Array.from({ length: rows }, () =>
    Array.from({ length: width }, () => random.uniform(-3, -0.05)),
  );
  const logProbs = oldLogProbs.map((row) => row.map((value) => value + random.normal(0, 0.3)));
  const lossMask = Array.from({ length: rows }, (_, b) =>
    Array.from({ length: width }, (_, t) =>
      b === rows - 1 ? 0 : t >= 1 && random.float() < 0.8 ? 1 : 0,
    ),
  );
  lossMask[0]![width - 1] = 1;
  const advantages = options.perTokenAdvantages
    ? Array.from({ length: rows }, () => Array.from({ length: width }, () => random.normal(0, 1)))
    : Array.from({ length: rows }, () => random.normal(0, 1));
  return {
    logProbs,
    oldLogProbs,
    advantages,
    lossMask,
    refLogProbs: oldLogProbs.map((row) => row.map((value) => value + random.normal(0, 0.2))),
    entropy: Array.from({ length: rows }, () =>
      Array.from({ length: width }, () => random.uniform(0, 2)),
    ),
  };
}

function toTensors(batch: Batch) {
  return {
    logProbs: tf.tensor2d(batch.logProbs),
    oldLogProbs: tf.tensor2d(batch.oldLogProbs),
    advantages: Array.isArray(batch.advantages[0])
      ? tf.tensor2d(batch.advantages as number[][])
      : tf.tensor1d(batch.advantages as number[]),
    lossMask: tf.tensor2d(batch.lossMask),
    ...(batch.refLogProbs ? { refLogProbs: tf.tensor2d(batch.refLogProbs) } : {}),
    ...(batch.entropy ? { entropy: tf.tensor2d(batch.entropy) } : {}),
  };
}

function disposeAll(tensors: Record<string, tf.Tensor>) {
  tf.dispose(Object.values(tensors));
}

const configurations: [string, Partial<SurrogateOptions>][] = [
  ['ppo token-mean', {}],
  ['grpo sequence-mean with k3 KL', { aggregation: 'sequence-mean', klCoefficient: 0.04 }],
  ['dr grpo constant', { aggregation: 'constant' }],
  ['dr grpo constant with a given length', { aggregation: 'constant', constantLength: 16 }],
  ['dapo clip-higher', { clipLow: 0.2, clipHigh: 0.28 }],
  [
    'gspo sequence ratio',
    { ratioLevel: 'sequence', clipLow: 0.05, clipHigh: 0.08, aggregation: 'sequence-mean' },
  ],
  ['dual clip', { clipLow: 0.1, clipHigh: 0.1, dualClip: 1.3 }],
  ['vanilla pg', { clip: false }],
  ['entropy bonus and k2 KL', { entropyCoefficient: 0.01, klCoefficient: 0.1, klEstimator: 'k2' }],
  ['k1 KL, token-mean', { klCoefficient: 0.3, klEstimator: 'k1' }],
];

describe('clippedSurrogateLoss against the loop reference', () => {
  const random = new Random(2024);
  for (const perTokenAdvantages of [false, true]) {
    for (const [label, overrides] of configurations) {
      it(`${label} (${perTokenAdvantages ? 'per-token' : 'per-sequence'} advantages): loss and metrics`, () => {
        const settings = { ...base, ...overrides };
        const batch = randomBatch(random, 5, 7, { perTokenAdvantages });
        const tensors = toTensors(batch);
        const before = tf.memory().numTensors;
        const { loss, metrics } = clippedSurrogateLoss({ ...tensors, ...settings });
        const lossValue = loss.dataSync()[0]!;
        loss.dispose();
        expect(tf.memory().numTensors).toBe(before);
        const expected = referenceObjective(batch, settings);
        expect(lossValue).toBeCloseTo(expected.loss, 5);
        expect(metrics.loss).toBeCloseTo(expected.loss, 5);
        expect(metrics.clipFractionLow).toBeCloseTo(expected.clipFractionLow, 6);
        expect(metrics.clipFractionHigh).toBeCloseTo(expected.clipFractionHigh, 6);
        expect(metrics.clipFractionDual).toBeCloseTo(expected.clipFractionDual, 6);
        expect(metrics.meanRatio).toBeCloseTo(expected.meanRatio, 5);
        expect(metrics.approxKlToOld).toBeCloseTo(expected.approxKlToOld, 5);
        expect(metrics.klToReference).toBeCloseTo(expected.klToReference, 5);
        expect(metrics.entropy).toBeCloseTo(expected.entropy, 5);
        expect(metrics.tokenCount).toBe(expected.tokenCount);
        disposeAll(tensors);
      });
    }
  }

  it('the batches exercise clipping and dual clipping', () => {
    const batch = randomBatch(new Random(1), 5, 7);
    const expected = referenceObjective(batch, {
      ...base,
      clipLow: 0.1,
      clipHigh: 0.1,
      dualClip: 1.3,
    });
    expect(expected.clipFractionLow + expected.clipFractionHigh).toBeGreaterThan(0);
    expect(expected.clipFractionDual).toBeGreaterThan(0);
  });
});

describe('clippedSurrogateLoss gradients', () => {
  const random = new Random(99);
  for (const perTokenAdvantages of [false, true]) {
    for (const [label, overrides] of configurations) {
      it(`${label} (${perTokenAdvantages ? 'per-token' : 'per-sequence'} advantages) matches finite differences`, () => {
        const settings = { ...base, ...overrides };
        const batch = randomBatch(random, 4, 5, { perTokenAdvantages });
        const tensors = toTensors(batch);
        const gradient = tf.grad(
          (x: tf.Tensor) => clippedSurrogateLoss({ ...tensors, ...settings, logProbs: x }).loss,
        )(tensors.logProbs);
        const analytic = gradient.arraySync() as number[][];
        gradient.dispose();
        const eps = 1e-6;
        for (let b = 0; b < batch.logProbs.length; b++) {
          for (let t = 0; t < batch.logProbs[0]!.length; t++) {
            const shifted = (delta: number) => ({
              ...batch,
              logProbs: batch.logProbs.map((row, i) =>
                row.map((v, j) => (i === b && j === t ? v + delta : v)),
              ),
            });
            const numeric =
              (referenceObjective(shifted(eps), settings).loss -
                referenceObjective(shifted(-eps), settings).loss) /
              (2 * eps);
            expect(Math.abs(analytic[b]![t]! - numeric)).toBeLessThan(
              2e-5 + 1e-3 * Math.abs(numeric),
            );
          }
        }
        disposeAll(tensors);
      });
    }
  }

  it('the gradient w.r.t. entropy is -entropyCoefficient per aggregated token', () => {
    const batch = randomBatch(new Random(3), 3, 4);
    const tensors = toTensors(batch);
    const gradient = tf.grad(
      (h: tf.Tensor) =>
        clippedSurrogateLoss({ ...tensors, entropy: h, entropyCoefficient: 0.5 }).loss,
    )(tensors.entropy!);
    const count = batch.lossMask.flat().filter((m) => m === 1).length;
    const values = gradient.arraySync() as number[][];
    values.forEach((row, b) => {
      row.forEach((value, t) => {
        expect(value).toBeCloseTo(batch.lossMask[b]![t] === 1 ? -0.5 / count : 0, 6);
      });
    });
    gradient.dispose();
    disposeAll(tensors);
  });
});

describe('clippedSurrogateLoss properties and edge cases', () => {
  it('with rho = 1 the clipped and unclipped losses (and gradients) agree (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.constantFrom('token-mean', 'sequence-mean', 'constant'),
        fc.constantFrom('token', 'sequence'),
        fc.option(fc.double({ min: 1.01, max: 10, noNaN: true }), { nil: undefined }),
        (seed, clipLow, clipHigh, aggregation, ratioLevel, dualClip) => {
          const batch = randomBatch(new Random(seed), 3, 4);
          const tensors = toTensors({ ...batch, logProbs: batch.oldLogProbs });
          const settings = {
            ...base,
            clipLow,
            clipHigh,
            aggregation,
            ratioLevel,
            ...(dualClip ? { dualClip } : {}),
          };
          const f = (clip: boolean) => (x: tf.Tensor) =>
            clippedSurrogateLoss({ ...tensors, ...settings, clip, logProbs: x }).loss;
          const clipped = tf.valueAndGrad(f(true))(tensors.logProbs);
          const unclipped = tf.valueAndGrad(f(false))(tensors.logProbs);
          const sameValue =
            Math.abs(clipped.value.dataSync()[0]! - unclipped.value.dataSync()[0]!) < 1e-6;
          const a = clipped.grad.dataSync();
          const b = unclipped.grad.dataSync();
          const sameGradient = Array.from(a).every(
            (value, index) => Math.abs(value - b[index]!) < 1e-6,
          );
          tf.dispose([clipped.value, clipped.grad, unclipped.value, unclipped.grad]);
          disposeAll(tensors);
          return sameValue && sameGradient;
        },
      ),
      { seed: 31, numRuns: 60 },
    );
  });

  it('an all-zero mask and an empty batch give loss 0 and finite metrics', () => {
    for (const aggregation of ['token-mean', 'sequence-mean', 'constant'] as const) {
      const zeroMask = toTensors({
        ...randomBatch(new Random(5), 2, 3),
        lossMask: [
          [0, 0, 0],
          [0, 0, 0],
        ],
      });
      const result = clippedSurrogateLoss({
        ...zeroMask,
        aggregation,
        klCoefficient: 0.1,
        ratioLevel: 'sequence',
      });
      expect(result.loss.dataSync()[0]).toBe(0);
      expect(Object.values(result.metrics).every(Number.isFinite)).toBe(true);
      expect(result.metrics.tokenCount).toBe(0);
      const empty = {
        logProbs: tf.zeros([0, 4]),
        oldLogProbs: tf.zeros([0, 4]),
        advantages: tf.zeros([0]),
        lossMask: tf.zeros([0, 4]),
      };
      const emptyResult = clippedSurrogateLoss({ ...empty, aggregation });
      expect(emptyResult.loss.dataSync()[0]).toBe(0);
      expect(Object.values(emptyResult.metrics).every(Number.isFinite)).toBe(true);
      tf.dispose([result.loss, emptyResult.loss]);
      disposeAll(zeroMask);
      disposeAll(empty);
    }
  });

  it('sequence-mean: a sequence with no agent tokens contributes 0 and counts in B', () => {
    const tensors = toTensors({
      logProbs: [
        [-1, -1],
        [-2, -2],
      ],
      oldLogProbs: [
        [-1, -1],
        [-2, -2],
      ],
      advantages: [2, 100],
      lossMask: [
        [1, 1],
        [0, 0],
      ],
    });
    const { loss } = clippedSurrogateLoss({ ...tensors, aggregation: 'sequence-mean' });
    expect(loss.dataSync()[0]).toBeCloseTo(-1, 6); // (-2 + 0) / 2
    loss.dispose();
    disposeAll(tensors);
  });

  it('padding with NaN or huge values never reaches the loss or the gradient', () => {
    const tensors = toTensors({
      logProbs: [[-1, Number.NaN, -1e30]],
      oldLogProbs: [[-1.1, 5, Number.POSITIVE_INFINITY]],
      advantages: [[1, Number.NaN, 3]],
      lossMask: [[1, 0, 0]],
      refLogProbs: [[-1.2, Number.NaN, 0]],
      entropy: [[0.3, Number.NaN, Number.NaN]],
    });
    for (const ratioLevel of ['token', 'sequence'] as const) {
      const { value, grad } = tf.valueAndGrad(
        (x: tf.Tensor) =>
          clippedSurrogateLoss({
            ...tensors,
            logProbs: x,
            ratioLevel,
            klCoefficient: 0.1,
            entropyCoefficient: 0.1,
          }).loss,
      )(tensors.logProbs);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      expect(Array.from(grad.dataSync()).every(Number.isFinite)).toBe(true);
      expect(Math.abs(grad.dataSync()[1]!)).toBe(0);
      tf.dispose([value, grad]);
    }
    disposeAll(tensors);
  });

  it('huge and tiny log-probs give finite losses and gradients', () => {
    const tensors = toTensors({
      logProbs: [[-1e-12, -50, -1000, -30]],
      oldLogProbs: [[-1e-12, -1, -1, -90]],
      advantages: [[1, -1, -2, 1]],
      lossMask: [[1, 1, 1, 1]],
      refLogProbs: [[0, -1, -500, -90]],
    });
    for (const dualClip of [undefined, 3]) {
      for (const clip of [true, false]) {
        const { value, grad } = tf.valueAndGrad(
          (x: tf.Tensor) =>
            clippedSurrogateLoss({
              ...tensors,
              logProbs: x,
              clip,
              klCoefficient: 0.01,
              ...(dualClip ? { dualClip } : {}),
            }).loss,
        )(tensors.logProbs);
        expect(Number.isFinite(value.dataSync()[0])).toBe(true);
        expect(Array.from(grad.dataSync()).every(Number.isFinite)).toBe(true);
        tf.dispose([value, grad]);
      }
    }
    disposeAll(tensors);
  });

  it('checkFinite names the first bad input element', () => {
    const tensors = toTensors({
      logProbs: [[-1, -1]],
      oldLogProbs: [[-1, Number.NaN]],
      advantages: [1],
      lossMask: [[1, 1]],
    });
    try {
      clippedSurrogateLoss({ ...tensors, checkFinite: true });
      expect.unreachable();
    } catch (error) {
      expect(NonFiniteError.isInstance(error)).toBe(true);
      expect((error as NonFiniteError).quantity).toBe('oldLogProbs[0][1]');
    }
    disposeAll(tensors);
  });

  it('rejects bad shapes and settings with errors naming the argument', () => {
    const tensors = toTensors(randomBatch(new Random(8), 2, 3));
    const wrong = tf.zeros([2, 4]);
    const wrongAdvantages = tf.zeros([3]);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ oldLogProbs: wrong }, /oldLogProbs = "\[2, 4\]".*shape \[2, 3\]/],
      [{ lossMask: wrong }, /lossMask = "\[2, 4\]"/],
      [{ refLogProbs: wrong }, /refLogProbs = "\[2, 4\]"/],
      [{ entropy: wrong }, /entropy = "\[2, 4\]"/],
      [{ advantages: wrongAdvantages }, /advantages = "\[3\]".*shape \[2\]/],
      [{ logProbs: tf.zeros([6]) }, /logProbs = "\[6\]".*rank-2/],
      [{ clipLow: 1.5 }, /clipLow = 1.5/],
      [{ clipLow: -0.1 }, /clipLow = -0.1/],
      [{ clipHigh: -1 }, /clipHigh = -1/],
      [{ dualClip: 1 }, /dualClip = 1/],
      [{ klCoefficient: -1 }, /klCoefficient = -1/],
      [
        { klCoefficient: 0.1, refLogProbs: undefined },
        /refLogProbs = undefined.*klCoefficient > 0/,
      ],
      [{ entropyCoefficient: 0.1, entropy: undefined }, /entropy = undefined/],
      [{ aggregation: 'constant', constantLength: -2 }, /constantLength = -2/],
      [{ ratioLevel: 'turn' }, /ratioLevel = "turn"/],
    ];
    for (const [override, pattern] of cases) {
      expect(() => clippedSurrogateLoss({ ...tensors, ...override } as never)).toThrow(pattern);
      expect(() => clippedSurrogateLoss({ ...tensors, ...override } as never)).toThrow(
        InvalidArgumentError,
      );
    }
    tf.dispose([wrong, wrongAdvantages]);
    disposeAll(tensors);
  });
});
