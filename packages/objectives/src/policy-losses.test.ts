import { Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { clippedSurrogateLoss } from './clipped-surrogate-loss';
import { createObjective } from './create-objective';
import type { SamplerCorrection } from './objective-options';
import { bnpo, cispo, sapo } from './presets';

const rows = 3;
const width = 6;

/** A fixture with ratios from 0.1 to 9 (both clips active), mixed-sign advantages and a ragged mask. */
function fixture(seed: number) {
  const random = new Random(seed);
  const oldLogProbs = Array.from({ length: rows }, () =>
    Array.from({ length: width }, () => random.uniform(-3, -0.1)),
  );
  const logProbs = oldLogProbs.map((row) => row.map((value) => value + random.uniform(-2.3, 2.2)));
  const samplerLogProbs = oldLogProbs.map((row) =>
    row.map((value) => value + random.normal(0, 0.8)),
  );
  const entropy = oldLogProbs.map((row) => row.map(() => random.uniform(0, 2)));
  const lossMask = [
    [1, 1, 1, 1, 0, 0],
    [1, 1, 1, 1, 1, 1],
    [0, 1, 1, 0, 1, 0],
  ];
  const advantages = [1.3, -0.7, 0.4];
  return { oldLogProbs, logProbs, samplerLogProbs, entropy, lossMask, advantages };
}

type Fixture = ReturnType<typeof fixture>;

function tensors(data: Fixture) {
  return {
    oldLogProbs: tf.tensor2d(data.oldLogProbs),
    logProbs: tf.tensor2d(data.logProbs),
    entropy: tf.tensor2d(data.entropy),
    lossMask: tf.tensor2d(data.lossMask),
    advantages: tf.tensor1d(data.advantages),
  };
}

/** Token mean over the mask of a per-token function, float64. */
function tokenMean(data: Fixture, perToken: (b: number, t: number) => number): number {
  let sum = 0;
  let count = 0;
  data.lossMask.forEach((row, b) => {
    row.forEach((flag, t) => {
      if (flag === 1) {
        sum += perToken(b, t);
        count++;
      }
    });
  });
  return sum / count;
}

/** Sequence mean over rows of each row's masked mean, float64 (TRL `grpo`/`sapo`). */
function sequenceMean(data: Fixture, perToken: (b: number, t: number) => number): number {
  let total = 0;
  data.lossMask.forEach((row, b) => {
    let sum = 0;
    let count = 0;
    row.forEach((flag, t) => {
      if (flag === 1) {
        sum += perToken(b, t);
        count++;
      }
    });
    total += count === 0 ? 0 : sum / count;
  });
  return total / data.lossMask.length;
}

const ratioOf = (data: Fixture, b: number, t: number) =>
  Math.exp(data.logProbs[b]![t]! - data.oldLogProbs[b]![t]!);

function gradientOf(data: Fixture, loss: (logProbs: tf.Tensor) => tf.Scalar): number[][] {
  return tf.tidy(() => tf.grad(loss)(tf.tensor2d(data.logProbs)).arraySync()) as number[][];
}

describe('CISPO (TRL loss_type="cispo", verl compute_policy_loss_cispo)', () => {
  for (const [name, clipLow, clipHigh] of [
    ['TRL preset, epsilon_high 5', cispo.clipLow, cispo.clipHigh],
    ['verl, clip_ratio 0.2', 0.2, 0.2],
  ] as const) {
    it(`${name}: value and stop-gradient gradient match TRL's formula in float64`, () => {
      const data = fixture(31);
      const input = tensors(data);
      const weight = (b: number, t: number) =>
        Math.min(1 + clipHigh, Math.max(1 - clipLow, ratioOf(data, b, t)));
      const expected = tokenMean(
        data,
        (b, t) => -weight(b, t) * data.advantages[b]! * data.logProbs[b]![t]!,
      );
      const settings = { ...cispo, clipLow, clipHigh };
      const { loss, metrics } = clippedSurrogateLoss({ ...input, ...settings });
      expect(loss.dataSync()[0]! / expected).toBeCloseTo(1, 5);
      // The weight is a constant: d loss / d logp = -w A / N, not the derivative through the ratio.
      const count = data.lossMask.flat().filter((flag) => flag === 1).length;
      const gradient = gradientOf(
        data,
        (logProbs) => clippedSurrogateLoss({ ...input, ...settings, logProbs }).loss,
      );
      data.lossMask.forEach((row, b) => {
        row.forEach((flag, t) => {
          const expectedGradient = flag === 1 ? (-weight(b, t) * data.advantages[b]!) / count : 0;
          expect(gradient[b]![t]).toBeCloseTo(expectedGradient, 5);
        });
      });
      const clipped = tokenMean(data, (b, t) => (ratioOf(data, b, t) > 1 + clipHigh ? 1 : 0));
      expect(metrics.clipFractionHigh).toBeCloseTo(clipped, 6);
      expect(clipped).toBeGreaterThan(0);
      loss.dispose();
      tf.dispose(Object.values(input));
    });
  }
});

describe('SAPO (TRL loss_type="sapo", verl compute_policy_loss_sapo)', () => {
  it('value matches the soft gate in float64, gradient matches finite differences', () => {
    const data = fixture(32);
    const input = tensors(data);
    const reference = (logProbs: number[][]) =>
      sequenceMean(data, (b, t) => {
        const ratio = Math.exp(logProbs[b]![t]! - data.oldLogProbs[b]![t]!);
        const advantage = data.advantages[b]!;
        const tau = advantage > 0 ? 1 : 1.05;
        return -(4 / tau) * (1 / (1 + Math.exp(-tau * (ratio - 1)))) * advantage;
      });
    const { loss } = clippedSurrogateLoss({ ...input, ...sapo });
    expect(loss.dataSync()[0]! / reference(data.logProbs)).toBeCloseTo(1, 5);
    const gradient = gradientOf(
      data,
      (logProbs) => clippedSurrogateLoss({ ...input, ...sapo, logProbs }).loss,
    );
    const step = 1e-5;
    data.lossMask.forEach((row, b) => {
      row.forEach((_, t) => {
        const plus = data.logProbs.map((r) => [...r]);
        const minus = data.logProbs.map((r) => [...r]);
        plus[b]![t]! += step;
        minus[b]![t]! -= step;
        const finiteDifference = (reference(plus) - reference(minus)) / (2 * step);
        expect(gradient[b]![t]).toBeCloseTo(finiteDifference, 4);
      });
    });
    loss.dispose();
    tf.dispose(Object.values(input));
  });

  it('at rho = 1 its gradient is the policy gradient -A grad logp (per sequence mean)', () => {
    const logProbs = tf.tensor2d([[-1, -2]]);
    const oldLogProbs = tf.tensor2d([[-1, -2]]);
    const gradient = tf.tidy(() =>
      tf
        .grad(
          (x: tf.Tensor) =>
            clippedSurrogateLoss({
              ...sapo,
              logProbs: x,
              oldLogProbs,
              advantages: tf.tensor1d([2]),
              lossMask: tf.tensor2d([[1, 1]]),
            }).loss,
        )(logProbs)
        .arraySync(),
    ) as number[][];
    expect(gradient[0]![0]).toBeCloseTo(-1, 6);
    expect(gradient[0]![1]).toBeCloseTo(-1, 6);
    tf.dispose([logProbs, oldLogProbs]);
  });
});

describe('BNPO (TRL loss_type="bnpo")', () => {
  it('is the PPO clip averaged over every masked token of the batch', () => {
    const data = fixture(33);
    const input = tensors(data);
    const expected = tokenMean(data, (b, t) => {
      const ratio = ratioOf(data, b, t);
      const advantage = data.advantages[b]!;
      return -Math.min(ratio * advantage, Math.min(1.2, Math.max(0.8, ratio)) * advantage);
    });
    const { loss } = createObjective({ preset: 'bnpo' }).compute(input);
    expect(bnpo.aggregation).toBe('token-mean');
    expect((loss as tf.Tensor).dataSync()[0]! / expected).toBeCloseTo(1, 5);
    (loss as tf.Tensor).dispose();
    tf.dispose(Object.values(input));
  });
});

describe('samplerCorrection (TRL vllm_importance_sampling_mode, verl TIS)', () => {
  const modes: SamplerCorrection[] = [
    { mode: 'token-truncate', max: 2 },
    { mode: 'token-truncate', max: 2, min: 0.5 },
    { mode: 'token-mask', max: 2, min: 0.5 },
    { mode: 'sequence-truncate', max: 1.2, min: 0.3 },
    { mode: 'sequence-mask', max: 1.2, min: 0.3 },
  ];
  for (const correction of modes) {
    it(`${correction.mode} (min ${correction.min ?? 'none'}, max ${correction.max}) weighs the PPO term as TRL`, () => {
      const data = fixture(34);
      const input = tensors(data);
      const rawWeight = (b: number, t: number) => {
        if (correction.mode.startsWith('token'))
          return Math.exp(data.oldLogProbs[b]![t]! - data.samplerLogProbs[b]![t]!);
        let sum = 0;
        data.lossMask[b]!.forEach((flag, s) => {
          if (flag === 1) sum += data.oldLogProbs[b]![s]! - data.samplerLogProbs[b]![s]!;
        });
        return Math.exp(sum);
      };
      const lower = correction.min ?? 0;
      const weight = (b: number, t: number) => {
        const w = rawWeight(b, t);
        if (correction.mode.endsWith('truncate'))
          return Math.min(correction.max, Math.max(lower, w));
        return w < lower || w > correction.max ? 0 : w;
      };
      const expected = tokenMean(data, (b, t) => {
        const ratio = ratioOf(data, b, t);
        const advantage = data.advantages[b]!;
        const pg = -Math.min(ratio * advantage, Math.min(1.2, Math.max(0.8, ratio)) * advantage);
        return pg * weight(b, t);
      });
      const samplerLogProbs = tf.tensor2d(data.samplerLogProbs);
      const { loss, metrics } = clippedSurrogateLoss({
        ...input,
        samplerLogProbs,
        samplerCorrection: correction,
      });
      samplerLogProbs.dispose();
      expect(loss.dataSync()[0]! / expected).toBeCloseTo(1, 4);
      expect(metrics.samplerWeightMean).toBeCloseTo(tokenMean(data, weight), 4);
      const outside = tokenMean(data, (b, t) => {
        const w = rawWeight(b, t);
        return w < lower || w > correction.max ? 1 : 0;
      });
      expect(metrics.samplerWeightClippedFraction).toBeCloseTo(outside, 6);
      expect(outside).toBeGreaterThan(0);
      loss.dispose();
      tf.dispose(Object.values(input));
    });
  }

  it('needs samplerLogProbs, and refuses them without a correction', () => {
    const data = fixture(35);
    const input = tensors(data);
    const samplerLogProbs = tf.tensor2d(data.samplerLogProbs);
    expect(() =>
      clippedSurrogateLoss({ ...input, samplerCorrection: { mode: 'token-truncate', max: 2 } }),
    ).toThrow(/samplerLogProbs/);
    expect(() => clippedSurrogateLoss({ ...input, samplerLogProbs })).toThrow(/samplerCorrection/);
    expect(() =>
      clippedSurrogateLoss({
        ...input,
        samplerLogProbs,
        samplerCorrection: { mode: 'token-truncate', max: 2, min: 3 },
      }),
    ).toThrow(/samplerCorrection\.min/);
    tf.dispose([samplerLogProbs, ...Object.values(input)]);
  });
});

describe('topEntropyQuantile (TRL top_entropy_quantile)', () => {
  it('trains on the tokens at or above the torch.quantile threshold, hand-computed', () => {
    // Masked entropies 0.1 0.5 0.9 0.3 0.7; top 40%: threshold quantile(0.6) = 0.5 + 0.4 * 0.2 = 0.58.
    const entropy = tf.tensor2d([
      [0.1, 0.5, 0.9, 5],
      [0.3, 0.7, 0.2, 0.2],
    ]);
    const lossMask = tf.tensor2d([
      [1, 1, 1, 0],
      [1, 1, 0, 0],
    ]);
    const logProbs = tf.tensor2d([
      [-1, -1, -1, -1],
      [-2, -2, -2, -2],
    ]);
    const advantages = tf.tensor1d([1, -2]);
    const { loss, metrics } = clippedSurrogateLoss({
      logProbs,
      oldLogProbs: logProbs,
      advantages,
      lossMask,
      entropy,
      topEntropyQuantile: 0.4,
      entropyCoefficient: 0.5,
    });
    // Kept: (0, 2) with pg = -1 and bonus -0.5 * 0.9, and (1, 1) with pg = 2 and bonus -0.5 * 0.7;
    // the denominator keeps all 5 masked tokens (TRL divides by the completion mask).
    expect(loss.dataSync()[0]).toBeCloseTo((-1 - 0.45 + 2 - 0.35) / 5, 6);
    expect(metrics.entropyMaskFraction).toBeCloseTo(2 / 5, 6);
    loss.dispose();
    tf.dispose([entropy, lossMask, logProbs, advantages]);
  });
});

describe('createObjective with a per-call entropy coefficient', () => {
  it('subtracts the given coefficient times the mean entropy', () => {
    const data = fixture(36);
    const input = tensors(data);
    const objective = createObjective({ preset: 'dapo' });
    const without = (objective.compute(input).loss as tf.Tensor).dataSync()[0]!;
    const withBonus = (
      objective.compute(input, { entropyCoefficient: 0.3 }).loss as tf.Tensor
    ).dataSync()[0]!;
    expect(without - withBonus).toBeCloseTo(
      0.3 * tokenMean(data, (b, t) => data.entropy[b]![t]!),
      5,
    );
    expect(() => objective.compute(input, { entropyCoefficient: Number.NaN })).toThrow(
      /entropyCoefficient/,
    );
    tf.dispose(Object.values(input));
  });

  it('refuses settings that the chosen policy loss would ignore', () => {
    const data = fixture(37);
    const input = tensors(data);
    expect(() => clippedSurrogateLoss({ ...input, ...cispo, dualClip: 3 })).toThrow(/dualClip/);
    expect(() => clippedSurrogateLoss({ ...input, ...sapo, clip: false })).toThrow(/clip/);
    expect(() =>
      clippedSurrogateLoss({ ...input, topEntropyQuantile: 0.2, entropy: undefined }),
    ).toThrow(/entropy/);
    tf.dispose(Object.values(input));
  });
});

describe('KL and aggregation settings reach @cohort/kl', () => {
  it("klLogRatioClamp, klClamp and klStraightThrough: verl's 'low_var_kl+' in the loss", () => {
    // One row, policy term zero (A = 0): the loss is beta * token-mean of the clamped k3.
    const logProbRow = [-1, -30, -0.2];
    const refRow = [-2, -1, -0.1];
    const logProbs = tf.tensor2d([logProbRow]);
    const inputs = {
      oldLogProbs: tf.tensor2d([logProbRow]),
      refLogProbs: tf.tensor2d([refRow]),
      advantages: tf.tensor1d([0]),
      lossMask: tf.tensor2d([[1, 1, 1]]),
      klCoefficient: 0.5,
      klLogRatioClamp: 20,
      klClamp: 10,
      klStraightThrough: true,
    };
    const k3 = (logProb: number, ref: number) => {
      const d = Math.min(20, Math.max(-20, ref - logProb));
      return Math.min(10, Math.exp(d) - d - 1);
    };
    const expected = (0.5 * logProbRow.reduce((sum, x, t) => sum + k3(x, refRow[t]!), 0)) / 3;
    const { loss } = clippedSurrogateLoss({ ...inputs, logProbs });
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 4);
    const gradient = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => clippedSurrogateLoss({ ...inputs, logProbs: x }).loss)(logProbs)
        .arraySync(),
    ) as number[][];
    // Straight-through: beta * (logp - logp_ref) / N, even where the clamps cut k3.
    logProbRow.forEach((x, t) => {
      expect(gradient[0]![t]).toBeCloseTo((0.5 * (x - refRow[t]!)) / 3, 5);
    });
    loss.dispose();
    tf.dispose([logProbs, ...Object.values(inputs).filter((value) => value instanceof tf.Tensor)]);
  });

  it("aggregation 'prompt-mean' with aggregationGroupSize, and emptyRows, as SkyRL and verl", () => {
    const data = fixture(38);
    const input = tensors(data);
    const perToken = (b: number, t: number) => {
      const ratio = ratioOf(data, b, t);
      const advantage = data.advantages[b]!;
      return -Math.min(ratio * advantage, Math.min(1.2, Math.max(0.8, ratio)) * advantage);
    };
    // Groups of one row each: prompt-mean equals the sequence mean.
    const { loss } = clippedSurrogateLoss({
      ...input,
      aggregation: 'prompt-mean',
      aggregationGroupSize: 1,
    });
    expect(loss.dataSync()[0]! / sequenceMean(data, perToken)).toBeCloseTo(1, 5);
    loss.dispose();
    const emptied = tf.tensor2d([data.lossMask[0]!, [0, 0, 0, 0, 0, 0], data.lossMask[2]!]);
    const excluded = clippedSurrogateLoss({
      ...input,
      lossMask: emptied,
      aggregation: 'sequence-mean',
      emptyRows: 'exclude',
    }).loss;
    const counted = clippedSurrogateLoss({
      ...input,
      lossMask: emptied,
      aggregation: 'sequence-mean',
    }).loss;
    expect(counted.dataSync()[0]! / excluded.dataSync()[0]!).toBeCloseTo(2 / 3, 5);
    tf.dispose([excluded, counted, emptied, ...Object.values(input)]);
  });
});
