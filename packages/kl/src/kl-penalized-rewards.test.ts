import { InvalidArgumentError, NonFiniteError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { klPenalizedRewards } from './kl-penalized-rewards';

describe('klPenalizedRewards', () => {
  it('credits the sequence reward to the last agent token and subtracts beta * kl on agent tokens', () => {
    const result = klPenalizedRewards({
      rewardsPerSequence: [1, -2],
      klPerToken: [
        [0.1, 0.2, 0.3, 9],
        [0.5, 0.4, 0.2, 0.1],
      ],
      coefficient: 0.5,
      lossMask: [
        [0, 1, 1, 0],
        [1, 0, 1, 0],
      ],
    });
    expect(result[0]![0]).toBe(0);
    expect(result[0]![1]).toBeCloseTo(-0.1, 12);
    expect(result[0]![2]).toBeCloseTo(1 - 0.15, 12);
    expect(result[0]![3]).toBe(0);
    expect(result[1]![0]).toBeCloseTo(-0.25, 12);
    expect(result[1]![1]).toBe(0);
    expect(result[1]![2]).toBeCloseTo(-2 - 0.1, 12);
    expect(result[1]![3]).toBe(0);
  });

  it('keeps per-token rewards (e.g. one per turn) in place', () => {
    const result = klPenalizedRewards({
      rewardsPerToken: [[0, 0.5, 0, 0, 1]],
      klPerToken: [[0.2, -0.2, 3, 0, 0.4]],
      coefficient: 0.1,
      lossMask: [[1, 1, 0, 1, 1]],
    });
    const expected = [-0.02, 0.52, 0, 0, 0.96];
    result[0]!.forEach((value, index) => {
      expect(value).toBeCloseTo(expected[index]!, 12);
    });
  });

  it('throws rather than lose a reward, and validates its inputs', () => {
    const base = { klPerToken: [[0, 0]], coefficient: 0.1, lossMask: [[0, 0]] };
    expect(() => klPenalizedRewards({ ...base, rewardsPerSequence: [1] })).toThrow(
      /lossMask\[0\].*no agent token/,
    );
    expect(() => klPenalizedRewards({ ...base, rewardsPerToken: [[0, 1]] })).toThrow(
      /rewardsPerToken\[0\]\[1\] = 1.*lossMask 0/,
    );
    expect(() =>
      klPenalizedRewards({ ...base, rewardsPerSequence: [1], rewardsPerToken: [[0, 0]] }),
    ).toThrow(/exactly one/);
    expect(() => klPenalizedRewards({ ...base, rewardsPerSequence: [1], coefficient: -1 })).toThrow(
      /coefficient = -1/,
    );
    expect(() =>
      klPenalizedRewards({
        klPerToken: [[Number.NaN]],
        coefficient: 0.1,
        lossMask: [[1]],
        rewardsPerSequence: [1],
      }),
    ).toThrow(NonFiniteError);
    expect(() =>
      klPenalizedRewards({
        klPerToken: [[0]],
        coefficient: 0.1,
        lossMask: [[0.5]],
        rewardsPerSequence: [1],
      }),
    ).toThrow(/lossMask\[0\]\[0\] = 0.5/);
    expect(() =>
      klPenalizedRewards({
        klPerToken: [[0]],
        coefficient: 0.1,
        lossMask: [[1]],
        rewardsPerSequence: [1, 2],
      }),
    ).toThrow(InvalidArgumentError);
    expect(
      klPenalizedRewards({
        klPerToken: [],
        coefficient: 0.1,
        lossMask: [],
        rewardsPerSequence: [],
      }),
    ).toEqual([]);
  });
});
