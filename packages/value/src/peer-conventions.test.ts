import { Random } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { batchedGeneralizedAdvantageEstimation } from './batched-generalized-advantage-estimation';
import { maskedWhiten } from './masked-whiten';
import { tokenReinforcePlusPlusAdvantages } from './token-reinforce-plus-plus';

/**
 * The peers' loops, transcribed to float64 on padded [B, L] rows (verl
 * `core_algos.py`, OpenRLHF `experience_maker.py`, TRL `ppo_trainer.py`,
 * SkyRL `ppo_utils.py`), so each convention is checked against its source and
 * not against this package's own recursion.
 */
type Rows = number[][];

/** Masked mean and the masked sum of squared deviations, in float64. */
function maskedMoments(values: Rows, mask: Rows): { mean: number; squares: number; count: number } {
  let sum = 0;
  let count = 0;
  values.forEach((row, b) => {
    row.forEach((x, t) => {
      sum += x * mask[b]![t]!;
      count += mask[b]![t]!;
    });
  });
  const mean = sum / count;
  let squares = 0;
  values.forEach((row, b) => {
    row.forEach((x, t) => {
      squares += (x - mean) ** 2 * mask[b]![t]!;
    });
  });
  return { mean, squares, count };
}

/** verl / TRL `masked_whiten`: unbiased variance, `rsqrt(var + 1e-8)`. */
function verlMaskedWhiten(values: Rows, mask: Rows, shiftMean = true): Rows {
  const { mean, squares, count } = maskedMoments(values, mask);
  const variance = (squares / count) * (count / (count - 1));
  return values.map((row) =>
    row.map((x) => (x - mean) / Math.sqrt(variance + 1e-8) + (shiftMean ? 0 : mean)),
  );
}

/** OpenRLHF: population variance, `var.clamp(min=1e-8).rsqrt()`. */
function openRlhfNormalize(values: Rows, mask: Rows): Rows {
  const { mean, squares, count } = maskedMoments(values, mask);
  const rstd = 1 / Math.sqrt(Math.max(squares / count, 1e-8));
  return values.map((row) => row.map((x) => (x - mean) * rstd));
}

function verlGae(rewards: Rows, values: Rows, mask: Rows, gamma: number, lambda: number) {
  return rewards.map((row, b) => {
    let nextValue = 0;
    let lastGae = 0;
    const out = new Array<number>(row.length);
    for (let t = row.length - 1; t >= 0; t--) {
      const m = mask[b]![t]!;
      const delta = row[t]! + gamma * nextValue - values[b]![t]!;
      const candidate = delta + gamma * lambda * lastGae;
      nextValue = values[b]![t]! * m + (1 - m) * nextValue;
      lastGae = candidate * m + (1 - m) * lastGae;
      out[t] = lastGae;
    }
    return out;
  });
}

function openRlhfGae(rewards: Rows, values: Rows, mask: Rows, gamma: number, lambda: number) {
  return rewards.map((row, b) => {
    const v = values[b]!.map((x, t) => x * mask[b]![t]!);
    const r = row.map((x, t) => x * mask[b]![t]!);
    let lastGae = 0;
    const out = new Array<number>(row.length);
    for (let t = row.length - 1; t >= 0; t--) {
      const nextValue = t < row.length - 1 ? v[t + 1]! : 0;
      lastGae = r[t]! + gamma * nextValue - v[t]! + gamma * lambda * lastGae;
      out[t] = lastGae;
    }
    return out;
  });
}

/** TRL's PPO and SkyRL: the recursion ignores the mask; whitening uses it. */
function trlGae(rewards: Rows, values: Rows, gamma: number, lambda: number) {
  return rewards.map((row, b) => {
    let lastGae = 0;
    const out = new Array<number>(row.length);
    for (let t = row.length - 1; t >= 0; t--) {
      const nextValue = t < row.length - 1 ? values[b]![t + 1]! : 0;
      lastGae = row[t]! + gamma * nextValue - values[b]![t]! + gamma * lambda * lastGae;
      out[t] = lastGae;
    }
    return out;
  });
}

function fixture(seed: number) {
  const random = new Random(seed);
  // Interior masked runs (user turns) and trailing padding, rewards only on agent tokens.
  const mask = [
    [1, 1, 0, 0, 1, 1, 1, 0],
    [1, 0, 1, 1, 1, 0, 0, 0],
    [1, 1, 1, 1, 1, 1, 1, 1],
  ];
  const rewards = mask.map((row) => row.map((m) => (m === 1 ? random.normal(0, 1) : 0)));
  const values = mask.map((row) => row.map(() => random.normal(0.3, 0.5)));
  return { mask, rewards, values };
}

function trajectoriesOf(rewards: Rows, values: Rows, mask: Rows) {
  return rewards.map((row, b) => ({ rewards: row, values: values[b]!, mask: mask[b]! }));
}

function expectAtMask(actual: Rows, expected: Rows, mask: Rows, digits = 10) {
  mask.forEach((row, b) => {
    row.forEach((m, t) => {
      if (m === 1) expect(actual[b]![t]).toBeCloseTo(expected[b]![t]!, digits);
    });
  });
}

describe('GAE over masked positions and whitening, as each peer', () => {
  const gamma = 0.97;
  const lambda = 0.9;

  it("'skip' is verl's carry-forward, and whiten: true its masked_whiten", () => {
    const { mask, rewards, values } = fixture(51);
    const trajectories = trajectoriesOf(rewards, values, mask);
    const raw = batchedGeneralizedAdvantageEstimation({
      trajectories,
      gamma,
      lambda,
      maskedPositions: 'skip',
    });
    const verl = verlGae(rewards, values, mask, gamma, lambda);
    expectAtMask(raw.advantages, verl, mask);
    // verl: returns = advantages + values, taken before whitening.
    expectAtMask(
      raw.returns,
      verl.map((row, b) => row.map((a, t) => a + values[b]![t]!)),
      mask,
    );
    const whitened = batchedGeneralizedAdvantageEstimation({
      trajectories,
      gamma,
      lambda,
      maskedPositions: 'skip',
      whiten: true,
    });
    expectAtMask(whitened.advantages, verlMaskedWhiten(verl, mask), mask);
    expectAtMask(whitened.returns, raw.returns, mask);
  });

  it("'zero' is OpenRLHF's mask-multiplied GAE, with its normalization", () => {
    const { mask, rewards, values } = fixture(52);
    const trajectories = trajectoriesOf(rewards, values, mask);
    const result = batchedGeneralizedAdvantageEstimation({
      trajectories,
      gamma,
      lambda,
      maskedPositions: 'zero',
      whiten: { variance: 'population', epsilonPlacement: 'floor' },
    });
    const openRlhf = openRlhfGae(rewards, values, mask, gamma, lambda);
    expectAtMask(result.advantages, openRlhfNormalize(openRlhf, mask), mask);
  });

  it("'step' is TRL's and SkyRL's GAE, which ignores the mask in the recursion", () => {
    const { mask, values } = fixture(53);
    const random = new Random(54);
    // TRL and SkyRL keep rewards and values on masked positions: give them some.
    const rewards = mask.map((row) => row.map(() => random.normal(0, 1)));
    const trajectories = trajectoriesOf(rewards, values, mask);
    const result = batchedGeneralizedAdvantageEstimation({
      trajectories,
      gamma,
      lambda,
      maskedPositions: 'step',
      whiten: true,
    });
    expectAtMask(
      result.advantages,
      verlMaskedWhiten(trlGae(rewards, values, gamma, lambda), mask),
      mask,
    );
    // The three conventions differ on this batch: the choice matters.
    const skip = verlGae(
      rewards.map((row, b) => row.map((x, t) => x * mask[b]![t]!)),
      values,
      mask,
      gamma,
      lambda,
    );
    expect(Math.abs(skip[0]![0]! - trlGae(rewards, values, gamma, lambda)[0]![0]!)).toBeGreaterThan(
      1e-3,
    );
  });
});

describe('maskedWhiten (verl / TRL masked_whiten)', () => {
  it('by hand: mean 2, sample std 1; shift_mean=False adds the mean back', () => {
    const almostOne = Math.sqrt(1 + 1e-8);
    const whitened = maskedWhiten({ values: [[1, 2, 3, 100]], mask: [[1, 1, 1, 0]] });
    expect(whitened[0]![0]).toBeCloseTo(-1 / almostOne, 12);
    expect(whitened[0]![2]).toBeCloseTo(1 / almostOne, 12);
    expect(whitened[0]![3]).toBe(0);
    const kept = maskedWhiten({ values: [[1, 2, 3]], shiftMean: false });
    expect(kept[0]![0]).toBeCloseTo(2 - 1 / almostOne, 12);
    expect(kept[0]![2]).toBeCloseTo(2 + 1 / almostOne, 12);
  });

  it('matches the float64 transcriptions of verl and OpenRLHF on ragged masked rows', () => {
    const { mask, rewards } = fixture(55);
    expectAtMask(maskedWhiten({ values: rewards, mask }), verlMaskedWhiten(rewards, mask), mask);
    expectAtMask(
      maskedWhiten({ values: rewards, mask, shiftMean: false }),
      verlMaskedWhiten(rewards, mask, false),
      mask,
    );
    expectAtMask(
      maskedWhiten({ values: rewards, mask, variance: 'population', epsilonPlacement: 'floor' }),
      openRlhfNormalize(rewards, mask),
      mask,
    );
  });

  it('names bad input, ignores NaN where masked out, and handles a single or no position', () => {
    expect(maskedWhiten({ values: [[Number.NaN, 2]], mask: [[0, 1]] })).toEqual([[0, 0]]);
    expect(() => maskedWhiten({ values: [[Number.NaN, 2]] })).toThrow(/values\[0\]\[0\]/);
    expect(() => maskedWhiten({ values: [[1, 2]], mask: [[1, 2]] })).toThrow(/mask\[0\]\[1\]/);
    expect(() => maskedWhiten({ values: [[1, 2]], variance: 'biased' as never })).toThrow(
      /variance/,
    );
    expect(maskedWhiten({ values: [[5]], shiftMean: false })).toEqual([[5]]);
    expect(maskedWhiten({ values: [] })).toEqual([]);
  });
});

describe('REINFORCE++ with per-token rewards and a discount', () => {
  function verlReinforcePlusPlus(rewards: Rows, mask: Rows, gamma: number) {
    const returns = rewards.map((row, b) => {
      let running = 0;
      const out = new Array<number>(row.length);
      for (let t = row.length - 1; t >= 0; t--) {
        running = row[t]! + gamma * running;
        out[t] = running;
        running *= mask[b]![t]!;
      }
      return out;
    });
    const advantages = verlMaskedWhiten(returns, mask).map((row, b) =>
      row.map((x, t) => x * mask[b]![t]!),
    );
    return { returns, advantages };
  }

  function openRlhfReinforce(rewards: Rows, mask: Rows, gamma: number) {
    const returns = rewards.map((row, b) => {
      let cumulative = 0;
      const out = new Array<number>(row.length);
      for (let t = row.length - 1; t >= 0; t--) {
        cumulative = row[t]! * mask[b]![t]! + gamma * cumulative;
        out[t] = cumulative;
      }
      return out;
    });
    return { returns, advantages: openRlhfNormalize(returns, mask) };
  }

  it('reset (verl, SkyRL) matches verl, interior masks included', () => {
    const { mask, rewards } = fixture(56);
    // verl keeps a reward on a masked position where it lies: put one there.
    rewards[0]![3] = 0.7;
    const ours = tokenReinforcePlusPlusAdvantages({
      rewardsPerToken: rewards,
      masks: mask,
      gamma: 0.9,
    });
    const verl = verlReinforcePlusPlus(rewards, mask, 0.9);
    ours.returns.forEach((row, b) => {
      row.forEach((x, t) => {
        expect(x).toBeCloseTo(verl.returns[b]![t]!, 12);
      });
    });
    ours.advantages.forEach((row, b) => {
      row.forEach((x, t) => {
        expect(x).toBeCloseTo(verl.advantages[b]![t]!, 10);
      });
    });
  });

  it('zero (OpenRLHF) matches OpenRLHF, and refuses a reward it would drop', () => {
    const { mask, rewards } = fixture(57);
    const ours = tokenReinforcePlusPlusAdvantages({
      rewardsPerToken: rewards,
      masks: mask,
      gamma: 0.95,
      maskedPositions: 'zero',
      whiten: { variance: 'population', epsilonPlacement: 'floor' },
    });
    const openRlhf = openRlhfReinforce(rewards, mask, 0.95);
    expectAtMask(ours.advantages, openRlhf.advantages, mask);
    rewards[1]![1] = 2;
    expect(() =>
      tokenReinforcePlusPlusAdvantages({
        rewardsPerToken: rewards,
        masks: mask,
        gamma: 0.95,
        maskedPositions: 'zero',
      }),
    ).toThrow(/rewardsPerToken\[1\]\[1\]/);
  });

  it('by hand: gamma 0.5, one sequence, no whitening', () => {
    const { returns, advantages } = tokenReinforcePlusPlusAdvantages({
      rewardsPerToken: [
        [1, 0, 2],
        [0, 4],
      ],
      masks: [
        [1, 1, 1],
        [1, 0],
      ],
      gamma: 0.5,
      whiten: false,
    });
    // Row 1: the masked last token keeps its own return, 4, then resets (verl): the first gets 0.
    expect(returns).toEqual([
      [1.5, 1, 2],
      [0, 4],
    ]);
    expect(advantages).toEqual([
      [1.5, 1, 2],
      [0, 0],
    ]);
    expect(() =>
      tokenReinforcePlusPlusAdvantages({ rewardsPerToken: [[1]], masks: [[1]], gamma: 2 }),
    ).toThrow(/gamma/);
  });
});
