import { Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createAdaptiveEntropyController } from './entropy-controller';
import { entropyFromLogits } from './entropy-from-logits';
import { highEntropyMask } from './high-entropy-mask';
import { sampledEntropy } from './sampled-entropy';
import { stopGradient } from './stop-gradient';

/** -sum p log p in float64 with the max subtracted, written independently of log_softmax. */
function entropyOf(logits: readonly number[]): number {
  const maximum = Math.max(...logits);
  const weights = logits.map((logit) => Math.exp(logit - maximum));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return -weights.reduce((sum, weight) => {
    const p = weight / total;
    return p === 0 ? sum : sum + p * Math.log(p);
  }, 0);
}

describe('entropyFromLogits', () => {
  it('matches float64 on [B, L, V], with huge offsets; gradient matches finite differences', () => {
    const random = new Random(41);
    const logits = Array.from({ length: 2 }, (_, b) =>
      Array.from({ length: 3 }, () =>
        Array.from({ length: 5 }, () => random.normal(0, 2) + (b === 1 ? 1e4 : 0)),
      ),
    );
    const value = tf.tidy(() => entropyFromLogits(tf.tensor3d(logits)).arraySync()) as number[][];
    logits.forEach((row, b) => {
      row.forEach((position, t) => {
        expect(value[b]![t]).toBeCloseTo(entropyOf(position), 3);
      });
    });
    expect(tf.tidy(() => entropyFromLogits(tf.zeros([4])).dataSync()[0])).toBeCloseTo(
      Math.log(4),
      6,
    );
    const position = [0.3, -1.2, 2.0, 0.1];
    const gradient = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => entropyFromLogits(x) as tf.Scalar)(tf.tensor1d(position))
        .arraySync(),
    ) as number[];
    const step = 1e-5;
    position.forEach((_, v) => {
      const plus = [...position];
      const minus = [...position];
      plus[v]! += step;
      minus[v]! -= step;
      expect(gradient[v]).toBeCloseTo((entropyOf(plus) - entropyOf(minus)) / (2 * step), 3);
    });
    expect(() => entropyFromLogits(tf.zeros([2, 0]))).toThrow(/logits/);
  });
});

describe('sampledEntropy (NeMo-RL approx_entropy)', () => {
  it('is the importance-weighted mean of -log pi over masked tokens, hand-computed', () => {
    const logProbs = tf.tensor2d([
      [-1, -2, Number.NaN],
      [-0.5, -3, -1],
    ]);
    const samplerLogProbs = tf.tensor2d([
      [-1.5, -2, 0],
      [-0.5, -2, -1],
    ]);
    const mask = tf.tensor2d([
      [1, 1, 0],
      [1, 1, 0],
    ]);
    const expected = -(Math.exp(0.5) * -1 + 1 * -2 + 1 * -0.5 + Math.exp(-1) * -3) / 4;
    expect(sampledEntropy({ logProbs, samplerLogProbs, mask }).dataSync()[0]).toBeCloseTo(
      expected,
      5,
    );
    // On-policy it is the plain mean of -log pi.
    expect(sampledEntropy({ logProbs, mask }).dataSync()[0]).toBeCloseTo((1 + 2 + 0.5 + 3) / 4, 5);
    expect(() => sampledEntropy({ logProbs, mask: tf.zeros([2, 2]) })).toThrow(/mask/);
    tf.dispose([logProbs, samplerLogProbs, mask]);
  });
});

describe('highEntropyMask (TRL get_high_entropy_mask)', () => {
  it('keeps the top quantile of masked tokens, every kept one above every dropped one', () => {
    const random = new Random(42);
    const entropies = Array.from({ length: 8 }, () =>
      Array.from({ length: 25 }, () => random.uniform(0, 3)),
    );
    const maskRows = entropies.map((row) => row.map(() => (random.float() < 0.8 ? 1 : 0)));
    const mask = tf.tidy(() =>
      highEntropyMask({
        entropy: tf.tensor2d(entropies),
        mask: tf.tensor2d(maskRows),
        topQuantile: 0.2,
      }).arraySync(),
    ) as number[][];
    const kept: number[] = [];
    const dropped: number[] = [];
    entropies.forEach((row, b) => {
      row.forEach((value, t) => {
        if (maskRows[b]![t] === 0) expect(mask[b]![t]).toBe(0);
        else (mask[b]![t] === 1 ? kept : dropped).push(value);
      });
    });
    const total = kept.length + dropped.length;
    // torch.quantile(0.8) with linear interpolation keeps floor(0.2 (n - 1)) + 1 values when they are distinct.
    expect(kept.length).toBe(Math.floor(0.2 * (total - 1)) + 1);
    expect(Math.min(...kept)).toBeGreaterThan(Math.max(...dropped));
    const none = tf.tidy(() =>
      highEntropyMask({
        entropy: tf.ones([2, 2]),
        mask: tf.zeros([2, 2]),
        topQuantile: 0.5,
      }).dataSync(),
    );
    expect(Array.from(none)).toEqual([0, 0, 0, 0]);
    expect(() =>
      highEntropyMask({ entropy: tf.ones([2]), mask: tf.ones([2]), topQuantile: 0 }),
    ).toThrow(/topQuantile/);
  });
});

describe('AdaptiveEntropyController (Skywork-OR1, TRL use_adaptive_entropy)', () => {
  it('follows the step rule and the floor gating, by hand', () => {
    const controller = createAdaptiveEntropyController({
      initialCoefficient: 0.01,
      target: 0.5,
      delta: 0.02,
      min: 0,
      max: 0.05,
    });
    // Nothing applied before the first measurement (TRL starts from entropy = inf).
    expect(controller.coefficient).toBe(0);
    expect(controller.update(0.3)).toBeCloseTo(0.03, 12); // below target: up, applied
    expect(controller.update(0.4)).toBeCloseTo(0.05, 12); // up, capped at max
    expect(controller.update(0.45)).toBeCloseTo(0.05, 12);
    expect(controller.update(0.9)).toBe(0); // above target: down to 0.03, not applied
    expect(controller.runningCoefficient).toBeCloseTo(0.03, 12);
    const state = controller.getState();
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    expect(controller.update(0.7)).toBe(0);
    expect(controller.update(0.7)).toBe(0);
    expect(controller.runningCoefficient).toBe(0); // floored at min
    controller.setState(state);
    expect(controller.runningCoefficient).toBeCloseTo(0.03, 12);
    expect(controller.update(0.1)).toBeCloseTo(0.05, 12);
    expect(() => controller.update(Number.NaN)).toThrow(/entropy/);
    expect(() => createAdaptiveEntropyController({ min: 2, max: 1 })).toThrow(/min/);
    expect(createAdaptiveEntropyController().options).toEqual({
      initialCoefficient: 0,
      target: 0.2,
      delta: 0.005,
      min: 0,
      max: 1,
    });
  });
});

describe('stopGradient', () => {
  it('keeps the value and cuts the gradient', () => {
    const x = tf.scalar(3);
    expect(
      tf.tidy(
        () =>
          tf
            .grad((v: tf.Tensor) => tf.mul(stopGradient(v), v))(x)
            .dataSync()[0],
      ),
    ).toBe(3);
    expect(tf.tidy(() => stopGradient(x).dataSync()[0])).toBe(3);
    x.dispose();
  });
});
