import { NonFiniteError } from '@cohort/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rlooAdvantages } from './rloo-advantages';

/** Reference: the definition, an explicit mean over the other samples of the group. */
function referenceRloo(rewards: number[], groupSize: number): number[] {
  return rewards.map((reward, index) => {
    if (groupSize === 1) return 0;
    const start = index - (index % groupSize);
    let others = 0;
    for (let j = start; j < start + groupSize; j++) if (j !== index) others += rewards[j]!;
    return reward - others / (groupSize - 1);
  });
}

const groupedRewards = fc
  .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 5 }))
  .chain(([groupSize, groupCount]) =>
    fc.tuple(
      fc.constant(groupSize),
      fc.array(fc.double({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), {
        minLength: groupSize * groupCount,
        maxLength: groupSize * groupCount,
      }),
    ),
  );

describe('rlooAdvantages', () => {
  it('matches hand-computed values', () => {
    const { advantages, zeroSpreadGroupFraction } = rlooAdvantages({
      rewards: [1, 0, 0, 0, 2, 2, 2, 2],
      groupSize: 4,
    });
    // 1 - 0 = 1; 0 - 1/3 = -1/3; second group all equal -> 0.
    const expected = [1, -1 / 3, -1 / 3, -1 / 3, 0, 0, 0, 0];
    advantages.forEach((value, index) => {
      expect(value).toBeCloseTo(expected[index]!, 14);
    });
    expect(zeroSpreadGroupFraction).toBe(0.5);
    // Pairs: each sample minus the other one.
    expect(rlooAdvantages({ rewards: [3, 1], groupSize: 2 }).advantages).toEqual([2, -2]);
  });

  it('gives 0 to a group of one, and empty arrays to an empty batch', () => {
    expect(rlooAdvantages({ rewards: [4, 5], groupSize: 1 }).advantages).toEqual([0, 0]);
    expect(rlooAdvantages({ rewards: [], groupSize: 3 })).toEqual({
      advantages: [],
      zeroSpreadGroupFraction: 0,
    });
  });

  it('handles huge and tiny rewards', () => {
    // A naive sum of the other rewards would overflow here.
    const huge = rlooAdvantages({ rewards: [1.5e308, 1.7e308], groupSize: 2 }).advantages;
    expect(huge[0]! / -2e307).toBeCloseTo(1, 12);
    expect(huge[1]! / 2e307).toBeCloseTo(1, 12);
    const tiny = rlooAdvantages({ rewards: [1e-310, 3e-310, 2e-310], groupSize: 3 }).advantages;
    // 1e-310 - 2.5e-310 = -1.5e-310 (subnormal, so only about 10 digits).
    expect(tiny[0]! / -1.5e-310).toBeCloseTo(1, 8);
  });

  it('refuses NaN with a NonFiniteError', () => {
    expect(() => rlooAdvantages({ rewards: [Number.NaN, 1], groupSize: 2 })).toThrow(
      /rewards\[0\] is NaN/,
    );
    expect(() => rlooAdvantages({ rewards: [0, 1], groupSize: 2 })).not.toThrow(NonFiniteError);
  });

  it('agrees with the leave-one-out definition and sums to zero per group (property)', () => {
    fc.assert(
      fc.property(groupedRewards, ([groupSize, rewards]) => {
        const { advantages } = rlooAdvantages({ rewards, groupSize });
        const expected = referenceRloo(rewards, groupSize);
        advantages.forEach((value, index) => {
          expect(Math.abs(value - expected[index]!)).toBeLessThan(1e-9);
        });
        for (let start = 0; start < advantages.length; start += groupSize) {
          const sum = advantages.slice(start, start + groupSize).reduce((a, b) => a + b, 0);
          expect(Math.abs(sum)).toBeLessThan(1e-10);
        }
      }),
      { seed: 3, numRuns: 300 },
    );
  });
});
