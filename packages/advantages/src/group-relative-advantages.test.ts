import { InvalidArgumentError, NonFiniteError } from '@cohort/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupRelativeAdvantages } from './group-relative-advantages';

/**
 * Reference written independently of the implementation: index arithmetic
 * instead of slicing, variance as (sum x^2 - n mean^2) / (n - 1), no rescaling.
 * Only valid for moderate values.
 */
function referenceGroupRelative(
  rewards: number[],
  groupSize: number,
  scale: 'group' | 'batch' | 'none',
  epsilon: number,
): number[] {
  const groupCount = rewards.length / groupSize;
  const means: number[] = [];
  const stds: number[] = [];
  for (let group = 0; group < groupCount; group++) {
    let sum = 0;
    let sumOfSquares = 0;
    for (let offset = 0; offset < groupSize; offset++) {
      const reward = rewards[group * groupSize + offset]!;
      sum += reward;
      sumOfSquares += reward * reward;
    }
    const mean = sum / groupSize;
    means.push(mean);
    const variance =
      groupSize > 1 ? Math.max(0, (sumOfSquares - groupSize * mean * mean) / (groupSize - 1)) : 0;
    stds.push(Math.sqrt(variance));
  }
  let batchSum = 0;
  let batchSumOfSquares = 0;
  for (const reward of rewards) {
    batchSum += reward;
    batchSumOfSquares += reward * reward;
  }
  const count = rewards.length;
  const batchMean = batchSum / count;
  const batchStd =
    count > 1
      ? Math.sqrt(Math.max(0, (batchSumOfSquares - count * batchMean * batchMean) / (count - 1)))
      : 0;
  return rewards.map((reward, index) => {
    const group = Math.floor(index / groupSize);
    const centered = reward - means[group]!;
    if (stds[group] === 0) return 0;
    if (scale === 'none') return centered;
    if (scale === 'batch') return centered / (batchStd + epsilon);
    return centered / (stds[group]! + epsilon);
  });
}

function expectClose(actual: number[], expected: number[], tolerance = 1e-9): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, index) => {
    const target = expected[index]!;
    expect(Math.abs(value - target)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(target)));
  });
}

const groupedRewards = fc
  .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 5 }))
  .chain(([groupSize, groupCount]) =>
    fc.tuple(
      fc.constant(groupSize),
      fc.array(
        fc.oneof(
          fc.integer({ min: -3, max: 3 }),
          fc.double({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }),
        ),
        { minLength: groupSize * groupCount, maxLength: groupSize * groupCount },
      ),
    ),
  );

describe('groupRelativeAdvantages', () => {
  it('matches hand-computed GRPO values (sample std, epsilon 1e-4)', () => {
    // Group [1, 0]: mean 0.5, sample std sqrt(0.5) = 0.70710678; group [0, 0]: zero spread.
    const result = groupRelativeAdvantages({ rewards: [1, 0, 0, 0], groupSize: 2 });
    const a = 0.5 / (Math.SQRT1_2 + 1e-4);
    expectClose(result.advantages, [a, -a, 0, 0], 1e-12);
    expect(a).toBeCloseTo(0.70700678, 7);
    expect(result.zeroSpreadGroupFraction).toBe(0.5);
    expectClose(result.baselinePerGroup, [0.5, 0]);
    expectClose(result.standardDeviationPerGroup, [Math.SQRT1_2, 0]);
  });

  it('uses verl epsilon when asked', () => {
    const result = groupRelativeAdvantages({ rewards: [3, 1, 2], groupSize: 3, epsilon: 1e-6 });
    // mean 2, sample variance ((1 + 1 + 0) / 2) = 1, std 1.
    expectClose(result.advantages, [1 / 1.000001, -1 / 1.000001, 0], 1e-12);
  });

  it("'batch' divides group-centered rewards by the batch sample std", () => {
    // Group means 0.5 and 2; batch mean 1.25; batch sample variance 4.75 / 3.
    const result = groupRelativeAdvantages({ rewards: [1, 0, 3, 1], groupSize: 2, scale: 'batch' });
    const s = Math.sqrt(4.75 / 3) + 1e-4;
    expectClose(result.advantages, [0.5 / s, -0.5 / s, 1 / s, -1 / s], 1e-12);
  });

  it("'none' (Dr. GRPO) only subtracts the group mean", () => {
    const result = groupRelativeAdvantages({ rewards: [1, 0, 3, 1], groupSize: 2, scale: 'none' });
    expectClose(result.advantages, [0.5, -0.5, 1, -1], 1e-15);
  });

  it("'median' subtracts the group median and divides by the group std", () => {
    // [0, 1, 5]: median 1; mean 2, deviations [-2, -1, 3], sample variance 14 / 2 = 7.
    const result = groupRelativeAdvantages({
      rewards: [0, 1, 5],
      groupSize: 3,
      baseline: 'median',
    });
    const s = Math.sqrt(7) + 1e-4;
    expectClose(result.advantages, [-1 / s, 0, 4 / s], 1e-12);
    // Even group: median is the mean of the middle two.
    const even = groupRelativeAdvantages({
      rewards: [4, 0, 1, 10],
      groupSize: 4,
      baseline: 'median',
      scale: 'none',
    });
    expectClose(even.advantages, [1.5, -2.5, -1.5, 7.5], 1e-15);
  });

  it('gives 0 to a group of one and exactly 0 to equal rewards', () => {
    for (const scale of ['group', 'batch', 'none'] as const) {
      const single = groupRelativeAdvantages({ rewards: [5, -2, 7], groupSize: 1, scale });
      expect(single.advantages).toEqual([0, 0, 0]);
      expect(single.zeroSpreadGroupFraction).toBe(1);
    }
    // 0.1 * 3 / 3 is not exactly 0.1 in floating point; the result must still be exactly 0.
    const equal = groupRelativeAdvantages({ rewards: [0.1, 0.1, 0.1, 1, 2, 3], groupSize: 3 });
    expect(equal.advantages.slice(0, 3)).toEqual([0, 0, 0]);
  });

  it('handles huge rewards whose naive sum or square overflows', () => {
    const huge = groupRelativeAdvantages({ rewards: [1e300, 2e300, 3e300], groupSize: 3 });
    expectClose(huge.advantages, [-1, 0, 1], 1e-12);
    // 1.5e308 + 1.7e308 overflows a naive mean.
    const edge = groupRelativeAdvantages({
      rewards: [1.5e308, 1.7e308],
      groupSize: 2,
      scale: 'none',
    });
    expectClose(edge.advantages, [-1e307, 1e307], 1e-12);
    const std = groupRelativeAdvantages({ rewards: [1.5e308, 1.7e308], groupSize: 2 });
    expectClose(std.advantages, [-Math.SQRT1_2, Math.SQRT1_2], 1e-12);
    const batch = groupRelativeAdvantages({
      rewards: [1e300, 3e300],
      groupSize: 2,
      scale: 'batch',
    });
    expectClose(batch.advantages, [-Math.SQRT1_2, Math.SQRT1_2], 1e-12);
  });

  it('handles tiny rewards whose squares underflow', () => {
    const exact = groupRelativeAdvantages({
      rewards: [1e-300, 2e-300, 3e-300],
      groupSize: 3,
      epsilon: 0,
    });
    expectClose(exact.advantages, [-1, 0, 1], 1e-12);
    // With epsilon 1e-4 the std (1e-300) is negligible: A = d / 1e-4.
    const damped = groupRelativeAdvantages({ rewards: [1e-300, 2e-300, 3e-300], groupSize: 3 });
    expect(damped.advantages[0]! / -1e-296).toBeCloseTo(1, 10);
    expect(damped.advantages[2]! / 1e-296).toBeCloseTo(1, 10);
    expect(damped.standardDeviationPerGroup[0]! / 1e-300).toBeCloseTo(1, 10);
  });

  it('returns empty arrays for an empty batch', () => {
    const result = groupRelativeAdvantages({ rewards: [], groupSize: 4 });
    expect(result).toEqual({
      advantages: [],
      zeroSpreadGroupFraction: 0,
      baselinePerGroup: [],
      standardDeviationPerGroup: [],
    });
  });

  it('refuses NaN and infinite rewards with a NonFiniteError naming the index', () => {
    expect(() => groupRelativeAdvantages({ rewards: [1, Number.NaN], groupSize: 2 })).toThrow(
      NonFiniteError,
    );
    try {
      groupRelativeAdvantages({ rewards: [1, 2, 3, Number.POSITIVE_INFINITY], groupSize: 2 });
      expect.unreachable();
    } catch (error) {
      expect(NonFiniteError.isInstance(error)).toBe(true);
      expect((error as NonFiniteError).quantity).toBe('rewards[3]');
    }
  });

  it('refuses bad arguments with an InvalidArgumentError naming them', () => {
    const cases: [Parameters<typeof groupRelativeAdvantages>[0], string][] = [
      [{ rewards: [1, 2, 3], groupSize: 2 }, 'rewards.length'],
      [{ rewards: [1, 2], groupSize: 0 }, 'groupSize'],
      [{ rewards: [1, 2], groupSize: 1.5 }, 'groupSize'],
      [{ rewards: [1, 2], groupSize: 2, epsilon: -1 }, 'epsilon'],
      [{ rewards: [1, 2], groupSize: 2, scale: 'global' as 'group' }, 'scale'],
      [{ rewards: [1, 2], groupSize: 2, baseline: 'mode' as 'mean' }, 'baseline'],
      [{ rewards: 'abc' as unknown as number[], groupSize: 2 }, 'rewards'],
    ];
    for (const [options, argument] of cases) {
      try {
        groupRelativeAdvantages(options);
        expect.unreachable();
      } catch (error) {
        expect(InvalidArgumentError.isInstance(error)).toBe(true);
        expect((error as InvalidArgumentError).argument).toBe(argument);
      }
    }
    expect(() => groupRelativeAdvantages({ rewards: [1, 2, 3], groupSize: 2 })).toThrow(
      /rewards.length = 3: must be a multiple of groupSize = 2/,
    );
  });

  it('does not mutate its input', () => {
    const rewards = [3, 1, 2, 0];
    groupRelativeAdvantages({ rewards, groupSize: 2, baseline: 'median' });
    expect(rewards).toEqual([3, 1, 2, 0]);
  });

  it('agrees with an independent reference on random batches (property)', () => {
    fc.assert(
      fc.property(
        groupedRewards,
        fc.constantFrom('group' as const, 'batch' as const, 'none' as const),
        fc.constantFrom(1e-4, 1e-6, 0.5),
        ([groupSize, rewards], scale, epsilon) => {
          const { advantages } = groupRelativeAdvantages({ rewards, groupSize, scale, epsilon });
          const expected = referenceGroupRelative(rewards, groupSize, scale, epsilon);
          // The reference's E[x^2] - mean^2 variance loses digits; compare loosely.
          expectClose(advantages, expected, 1e-6);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  it('sums to zero within each group with a mean baseline (property)', () => {
    fc.assert(
      fc.property(
        groupedRewards,
        fc.constantFrom('group' as const, 'batch' as const, 'none' as const),
        ([groupSize, rewards], scale) => {
          const { advantages } = groupRelativeAdvantages({ rewards, groupSize, scale });
          for (let start = 0; start < advantages.length; start += groupSize) {
            const group = advantages.slice(start, start + groupSize);
            const sum = group.reduce((total, value) => total + value, 0);
            const magnitude = group.reduce((total, value) => total + Math.abs(value), 0);
            expect(Math.abs(sum)).toBeLessThanOrEqual(1e-12 * magnitude + 1e-300);
          }
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });
});
