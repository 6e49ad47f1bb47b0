import { Random } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { createAdvantageEstimator } from './advantage-estimator';
import { advantageEstimatorPresets } from './advantage-estimator-presets';
import { groupRelativeAdvantages } from './group-relative-advantages';
import { multiRewardAdvantages } from './multi-reward-advantages';
import { rlooAdvantages } from './rloo-advantages';

/*
 * Float64 transcriptions of the peers' estimators, written from their source
 * (verl core_algos.py and utils/groupwise.py, TRL grpo_trainer.py and
 * rloo_trainer.py, NeMo-RL algorithms/utils.py), one group at a time.
 */

/** torch.nanmean / TRL nanstd (sample, NaN for fewer than two). */
function nanMean(values: number[]): number {
  const present = values.filter((x) => !Number.isNaN(x));
  return present.length === 0 ? Number.NaN : present.reduce((a, b) => a + b, 0) / present.length;
}
function nanStd(values: number[]): number {
  const present = values.filter((x) => !Number.isNaN(x));
  if (present.length < 2) return Number.NaN;
  const mean = nanMean(present);
  const variance = present.reduce((a, x) => a + (x - mean) ** 2, 0) / present.length;
  return Math.sqrt((variance * present.length) / (present.length - 1));
}
const nanToZero = (x: number) => (Number.isNaN(x) ? 0 : x);
const groupsOf = (values: number[], size: number) =>
  Array.from({ length: values.length / size }, (_, g) => values.slice(g * size, (g + 1) * size));

function verlVectorizedGrpo(scores: number[], size: number, eps: number): number[] {
  return groupsOf(scores, size).flatMap((group) => {
    const n = group.length;
    const s1 = group.reduce((a, b) => a + b, 0);
    const s2 = group.reduce((a, b) => a + b * b, 0);
    const mean = n <= 1 ? 0 : s1 / n;
    const variance = (s2 - (s1 * s1) / n) / Math.max(n - 1, 1);
    const std = n <= 1 ? 1 : Math.sqrt(Math.max(variance, eps));
    return group.map((x) => (x - mean) / (std + eps));
  });
}

function trlGrpo(rewards: number[], size: number): number[] {
  return groupsOf(rewards, size).flatMap((group) => {
    const mean = nanMean(group);
    const std = nanStd(group);
    return group.map((x) => nanToZero((x - mean) / (std + 1e-4)));
  });
}

function trlRloo(rewards: number[], size: number, normalize: boolean): number[] {
  let advantages = groupsOf(rewards, size).flatMap((group) => {
    const scorable = group.filter((x) => !Number.isNaN(x)).length;
    const sum = group.reduce((a, x) => (Number.isNaN(x) ? a : a + x), 0);
    return group.map((x) => x - (sum - x) / (scorable - 1));
  });
  if (normalize) {
    const mean = nanMean(advantages);
    const std = nanStd(advantages);
    advantages = advantages.map((a) => (a - mean) / (std + 1e-4));
  }
  return advantages.map(nanToZero);
}

function nemoLeaveOneOut(rewards: number[], valid: number[], size: number): number[] {
  const out: number[] = [];
  for (let start = 0; start < rewards.length; start += size) {
    const r = rewards.slice(start, start + size);
    const v = valid.slice(start, start + size);
    const validCount = v.reduce((a, b) => a + b, 0);
    if (validCount <= 1) {
      for (let i = 0; i < size; i++) out.push(0); // baseline = reward
      continue;
    }
    const numValid = validCount - 1;
    for (let i = 0; i < size; i++) {
      let baseline = 0;
      let square = 0;
      for (let j = 0; j < size; j++) {
        if (j === i) continue;
        baseline += r[j]! * v[j]!;
        square += r[j]! ** 2 * v[j]!;
      }
      baseline /= numValid;
      square /= numValid;
      const raw = (square - baseline ** 2) * (numValid / (numValid - 1));
      const std = Number.isFinite(raw) && raw > 0 ? Math.sqrt(raw) : 0;
      const advantage = r[i]! - baseline;
      out.push(std > 0 ? advantage / (std + 1e-6) : advantage);
    }
  }
  return out;
}

function expectClose(actual: number[], expected: number[], digits = 9) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((value, index) => {
    expect(value).toBeCloseTo(expected[index]!, digits);
  });
}

describe('group estimators against the peers, by preset name', () => {
  const random = new Random(61);
  const size = 4;
  const rewards = Array.from(
    { length: 6 * size },
    () => Math.round(random.normal(0, 1) * 100) / 100,
  );
  // A group with a variance below verl's floor, and a group whose rewards all agree.
  rewards.splice(0, 4, 0.5, 0.5001, 0.5, 0.5);
  rewards.splice(4, 4, 2, 2, 2, 2);

  it("'verl-grpo-vectorized' floors the variance as verl's group_mean_std", () => {
    const ours = createAdvantageEstimator(
      advantageEstimatorPresets['verl-grpo-vectorized'],
    ).estimate({
      rewards,
      groupSize: size,
    }).advantages;
    expectClose(ours, verlVectorizedGrpo(rewards, size, 1e-6), 6);
    // Without the floor the tiny-variance group would be blown up to about +-1.5 instead of +-0.04.
    expect(Math.abs(ours[1]!)).toBeLessThan(0.1);
    expect(
      Math.abs(groupRelativeAdvantages({ rewards, groupSize: size, epsilon: 1e-6 }).advantages[1]!),
    ).toBeGreaterThan(1);
  });

  it("'trl-grpo' ignores NaN rewards (nanmean, nanstd) and gives them 0", () => {
    const withMissing = [...rewards];
    withMissing[9] = Number.NaN;
    withMissing[14] = Number.NaN;
    withMissing[15] = Number.NaN;
    withMissing[13] = Number.NaN; // group 3 keeps one scorable sample: advantage 0 throughout
    const ours = createAdvantageEstimator(advantageEstimatorPresets['trl-grpo']).estimate({
      rewards: withMissing,
      groupSize: size,
    }).advantages;
    expectClose(ours, trlGrpo(withMissing, size));
    expect(ours[9]).toBe(0);
  });

  it("'trl-rloo' and 'trl-rloo-normalized' match TRL's RLOOTrainer, NaN included", () => {
    const withMissing = [...rewards];
    withMissing[10] = Number.NaN;
    for (const [name, normalize] of [
      ['trl-rloo', false],
      ['trl-rloo-normalized', true],
    ] as const) {
      const ours = createAdvantageEstimator(advantageEstimatorPresets[name]).estimate({
        rewards: withMissing,
        groupSize: size,
      }).advantages;
      expectClose(ours, trlRloo(withMissing, size, normalize));
    }
  });

  it("'nemo-rl-grpo' and a validity mask match NeMo-RL's leave-one-out baseline and std", () => {
    const valid = rewards.map((_, index) => (index % 7 === 3 ? 0 : 1));
    valid.splice(20, 4, 1, 0, 0, 1); // a group with two valid samples: leave-one-out std undefined
    const ours = rlooAdvantages({
      rewards,
      groupSize: size,
      validMask: valid,
      scale: 'leave-one-out-std',
    }).advantages;
    const nemo = nemoLeaveOneOut(rewards, valid, size);
    ours.forEach((value, index) => {
      if (valid[index] === 1) expect(value).toBeCloseTo(nemo[index]!, 6);
      else expect(value).toBe(0);
    });
    const preset = createAdvantageEstimator(advantageEstimatorPresets['nemo-rl-grpo']).estimate({
      rewards,
      groupSize: size,
    }).advantages;
    expectClose(
      preset,
      nemoLeaveOneOut(
        rewards,
        rewards.map(() => 1),
        size,
      ),
      6,
    );
  });
});

describe('every preset', () => {
  const random = new Random(63);
  const size = 4;
  const rewards = Array.from({ length: 3 * size }, () => random.normal(0, 1));
  const estimate = (name: keyof typeof advantageEstimatorPresets, values = rewards) =>
    createAdvantageEstimator(advantageEstimatorPresets[name]).estimate({
      rewards: values,
      groupSize: size,
    }).advantages;

  it("'verl-grpo', 'verl-dr-grpo' and 'verl-rloo' match verl's loops", () => {
    const verlGrpo = (normalize: boolean) =>
      groupsOf(rewards, size).flatMap((group) => {
        const mean = group.reduce((a, b) => a + b, 0) / group.length;
        const std = Math.sqrt(group.reduce((a, x) => a + (x - mean) ** 2, 0) / (group.length - 1));
        return group.map((x) => (normalize ? (x - mean) / (std + 1e-6) : x - mean));
      });
    expectClose(estimate('verl-grpo'), verlGrpo(true));
    expectClose(estimate('verl-dr-grpo'), verlGrpo(false));
    const verlRloo = groupsOf(rewards, size).flatMap((group) => {
      const n = group.length;
      const mean = group.reduce((a, b) => a + b, 0) / n;
      return group.map((x) => (x * n) / (n - 1) - (mean * n) / (n - 1));
    });
    expectClose(estimate('verl-rloo'), verlRloo);
  });

  it("'trl-grpo-batch' divides by TRL's batch nanstd", () => {
    const withMissing = [...rewards];
    withMissing[5] = Number.NaN;
    const std = nanStd(withMissing);
    const expected = groupsOf(withMissing, size).flatMap((group) => {
      const mean = nanMean(group);
      return group.map((x) => nanToZero((x - mean) / (std + 1e-4)));
    });
    expectClose(estimate('trl-grpo-batch', withMissing), expected);
  });
});

describe('validity masks', () => {
  it('GRPO: invalid samples leave the statistics and get 0, by hand', () => {
    // Group [1, 0, 5(invalid)]: mean 0.5, sample std 0.7071 over the valid two.
    const { advantages, baselinePerGroup } = groupRelativeAdvantages({
      rewards: [1, 0, 5, 3, 3, 1],
      groupSize: 3,
      validMask: [1, 1, 0, 0, 1, 0],
      epsilon: 0,
    });
    expect(advantages[0]).toBeCloseTo(0.5 / Math.SQRT1_2, 12);
    expect(advantages[1]).toBeCloseTo(-0.5 / Math.SQRT1_2, 12);
    expect(advantages.slice(2)).toEqual([0, 0, 0, 0]);
    expect(baselinePerGroup[0]).toBe(0.5);
  });

  it('RLOO: n counts the valid samples', () => {
    // Valid [4, 1, 1]: A = r - mean of the other valid ones.
    const { advantages } = rlooAdvantages({
      rewards: [4, 1, 9, 1],
      groupSize: 4,
      validMask: [1, 1, 0, 1],
    });
    expectClose(advantages, [3, -1.5, 0, -1.5], 12);
  });

  it('refuses bad masks and settings that would do nothing', () => {
    expect(() =>
      groupRelativeAdvantages({ rewards: [1, 2], groupSize: 2, validMask: [1] }),
    ).toThrow(/validMask/);
    expect(() => rlooAdvantages({ rewards: [1, 2], groupSize: 2, validMask: [1, 2] })).toThrow(
      /validMask\[1\]/,
    );
    expect(() => groupRelativeAdvantages({ rewards: [1, Number.NaN], groupSize: 2 })).toThrow(
      /rewards\[1\]/,
    );
    expect(() =>
      groupRelativeAdvantages({
        rewards: [1, Number.POSITIVE_INFINITY],
        groupSize: 2,
        nanRewards: 'ignore',
      }),
    ).toThrow(/rewards\[1\]/);
    expect(() =>
      groupRelativeAdvantages({
        rewards: [1, 2],
        groupSize: 2,
        scale: 'none',
        varianceFloor: 1e-6,
      }),
    ).toThrow(/varianceFloor/);
    expect(() => rlooAdvantages({ rewards: [1, 2], groupSize: 2, epsilon: 1e-6 })).toThrow(
      /epsilon/,
    );
  });
});

describe('multiRewardAdvantages against TRL multi_objective_aggregation', () => {
  function trlNormalizeThenSum(rows: number[][], size: number, weights: number[]): number[] {
    const k = weights.length;
    const normalized = rows.map((row) => [...row]);
    for (let start = 0; start < rows.length; start += size) {
      for (let c = 0; c < k; c++) {
        const column = rows.slice(start, start + size).map((row) => row[c]!);
        const mean = nanMean(column);
        const std = nanStd(column);
        column.forEach((x, offset) => {
          normalized[start + offset]![c] = (x - mean) / (std + 1e-4);
        });
      }
    }
    const sums = normalized.map((row, i) =>
      rows[i]!.every(Number.isNaN)
        ? Number.NaN
        : row.reduce((a, x, c) => (Number.isNaN(x) ? a : a + weights[c]! * x), 0),
    );
    const mean = nanMean(sums);
    const std = nanStd(sums);
    return sums.map((s) => nanToZero((s - mean) / (std + 1e-4)));
  }

  function trlSumThenNormalize(rows: number[][], size: number, weights: number[]): number[] {
    const sums = rows.map((row) =>
      row.every(Number.isNaN)
        ? Number.NaN
        : row.reduce((a, x, c) => (Number.isNaN(x) ? a : a + weights[c]! * x), 0),
    );
    return trlGrpo(sums, size);
  }

  const random = new Random(62);
  const size = 4;
  // Correctness (rare 0/1), format (frequent 0/1) and a length score, with some missing values.
  const rows = Array.from({ length: 4 * size }, () => [
    random.float() < 0.3 ? 1 : 0,
    random.float() < 0.8 ? 1 : 0,
    Math.round(random.uniform(0, 1) * 100) / 100,
  ]);
  rows[2]![1] = Number.NaN;
  rows[7] = [Number.NaN, Number.NaN, Number.NaN];
  const weights = [1, 0.5, 0.25];

  it("'normalize-then-sum' (GDPO) matches TRL", () => {
    const ours = multiRewardAdvantages({
      rewardsPerComponent: rows,
      groupSize: size,
      weights,
      aggregation: 'normalize-then-sum',
    }).advantages;
    expectClose(ours, trlNormalizeThenSum(rows, size, weights), 8);
    expect(ours[7]).toBe(0);
  });

  it("'sum-then-normalize' matches TRL's default", () => {
    const ours = multiRewardAdvantages({
      rewardsPerComponent: rows,
      groupSize: size,
      weights,
    }).advantages;
    expectClose(ours, trlSumThenNormalize(rows, size, weights), 8);
  });

  it('the two differ, and GDPO keeps a rare binary reward from being drowned, by hand', () => {
    // Component 0 varies in one sample; component 1 in two. Summed first, the rare one is outweighed.
    const table = [
      [1, 1],
      [0, 1],
      [0, 0],
      [0, 0],
    ];
    const decoupled = multiRewardAdvantages({
      rewardsPerComponent: table,
      groupSize: 4,
      aggregation: 'normalize-then-sum',
    }).advantages;
    const summed = multiRewardAdvantages({ rewardsPerComponent: table, groupSize: 4 }).advantages;
    expect(decoupled[0]! - decoupled[1]!).toBeGreaterThan(summed[0]! - summed[1]!);
    expect(() =>
      multiRewardAdvantages({ rewardsPerComponent: [[1, 2], [3]], groupSize: 2 }),
    ).toThrow(/rewardsPerComponent\[1\]/);
    expect(() =>
      multiRewardAdvantages({ rewardsPerComponent: [[1], [2]], groupSize: 2, weights: [1, 2] }),
    ).toThrow(/weights/);
  });
});
