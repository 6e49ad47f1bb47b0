import { InvalidArgumentError, NonFiniteError } from '@cohort/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reinforcePlusPlusAdvantages } from './reinforce-plus-plus-advantages';

/**
 * Reference in the token-level form of OpenRLHF and verl: expand each sample's
 * value over its tokens, then whiten the flat token list.
 */
function referenceTokenWhitening(
  rewards: number[],
  groupSize: number,
  tokenCounts: number[],
  baseline: 'group-mean' | 'none',
  unbiased: boolean,
): number[] {
  const centered = rewards.map((reward, index) => {
    if (baseline === 'none') return reward;
    const start = index - (index % groupSize);
    const group = rewards.slice(start, start + groupSize);
    return reward - group.reduce((a, b) => a + b, 0) / groupSize;
  });
  const tokens: number[] = [];
  centered.forEach((value, index) => {
    for (let t = 0; t < tokenCounts[index]!; t++) tokens.push(value);
  });
  const mean = tokens.reduce((a, b) => a + b, 0) / tokens.length;
  const squares = tokens.reduce((a, b) => a + (b - mean) ** 2, 0);
  const variance = squares / (unbiased ? tokens.length - 1 : tokens.length);
  return centered.map((value) => (value - mean) / Math.sqrt(variance + 1e-8));
}

describe('reinforcePlusPlusAdvantages', () => {
  it('matches hand-computed values (group mean, then population whitening)', () => {
    const result = reinforcePlusPlusAdvantages({ rewards: [1, 0, 3, 1], groupSize: 2 });
    // Centered [0.5, -0.5, 1, -1]; batch mean 0; population variance 2.5 / 4 = 0.625.
    const s = Math.sqrt(0.625 + 1e-8);
    const expected = [0.5 / s, -0.5 / s, 1 / s, -1 / s];
    result.advantages.forEach((value, index) => {
      expect(value).toBeCloseTo(expected[index]!, 14);
    });
    expect(result.advantages[0]).toBeCloseTo(0.632455528, 8);
    expect(result.batchMean).toBeCloseTo(0, 15);
    expect(result.batchVariance).toBeCloseTo(0.625, 14);
  });

  it("'none' whitens the raw rewards, and 'sample' uses N - 1", () => {
    const plain = reinforcePlusPlusAdvantages({
      rewards: [1, 2, 3, 6],
      groupSize: 2,
      baseline: 'none',
    });
    // mean 3; deviations [-2, -1, 0, 3]; population variance 14 / 4 = 3.5.
    const s = Math.sqrt(3.5 + 1e-8);
    [-2 / s, -1 / s, 0, 3 / s].forEach((value, index) => {
      expect(plain.advantages[index]).toBeCloseTo(value, 14);
    });
    const unbiased = reinforcePlusPlusAdvantages({
      rewards: [1, 2, 3, 6],
      groupSize: 2,
      baseline: 'none',
      variance: 'sample',
    });
    const u = Math.sqrt(14 / 3 + 1e-8);
    [-2 / u, -1 / u, 0, 3 / u].forEach((value, index) => {
      expect(unbiased.advantages[index]).toBeCloseTo(value, 14);
    });
  });

  it('reproduces token-level whitening with token counts as weights', () => {
    const rewards = [1, 0, 0.5, 2, 1, 1];
    const tokenCountsPerSample = [3, 1, 7, 2, 5, 4];
    for (const baseline of ['group-mean', 'none'] as const) {
      for (const variance of ['population', 'sample'] as const) {
        const { advantages } = reinforcePlusPlusAdvantages({
          rewards,
          groupSize: 3,
          baseline,
          variance,
          tokenCountsPerSample,
        });
        const expected = referenceTokenWhitening(
          rewards,
          3,
          tokenCountsPerSample,
          baseline,
          variance === 'sample',
        );
        advantages.forEach((value, index) => {
          expect(value).toBeCloseTo(expected[index]!, 12);
        });
      }
    }
  });

  it('gives exactly 0 when there is nothing to whiten', () => {
    expect(reinforcePlusPlusAdvantages({ rewards: [2, 2, 5, 5], groupSize: 2 }).advantages).toEqual(
      [0, 0, 0, 0],
    );
    expect(
      reinforcePlusPlusAdvantages({ rewards: [7], groupSize: 1, baseline: 'none' }).advantages,
    ).toEqual([0]);
    expect(
      reinforcePlusPlusAdvantages({ rewards: [7], groupSize: 1, variance: 'sample' }).advantages,
    ).toEqual([0]);
    expect(reinforcePlusPlusAdvantages({ rewards: [], groupSize: 2 })).toEqual({
      advantages: [],
      zeroSpreadGroupFraction: 0,
      batchMean: 0,
      batchVariance: 0,
    });
  });

  it('handles huge and tiny rewards', () => {
    const huge = reinforcePlusPlusAdvantages({
      rewards: [1e300, -1e300],
      groupSize: 1,
      baseline: 'none',
    }).advantages;
    expect(huge[0]).toBeCloseTo(1, 12);
    expect(huge[1]).toBeCloseTo(-1, 12);
    // Tiny spread: epsilon dominates, A = x / sqrt(1e-8) = x * 1e4.
    const tiny = reinforcePlusPlusAdvantages({
      rewards: [1e-300, -1e-300],
      groupSize: 1,
      baseline: 'none',
    }).advantages;
    expect(tiny[0]! / 1e-296).toBeCloseTo(1, 10);
    const exact = reinforcePlusPlusAdvantages({
      rewards: [1e-300, -1e-300],
      groupSize: 1,
      baseline: 'none',
      epsilon: 0,
    }).advantages;
    expect(exact[0]).toBeCloseTo(1, 12);
  });

  it('refuses NaN and bad arguments', () => {
    expect(() => reinforcePlusPlusAdvantages({ rewards: [0, Number.NaN], groupSize: 1 })).toThrow(
      NonFiniteError,
    );
    expect(() =>
      reinforcePlusPlusAdvantages({ rewards: [0, 1], groupSize: 1, tokenCountsPerSample: [1] }),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      reinforcePlusPlusAdvantages({ rewards: [0, 1], groupSize: 1, tokenCountsPerSample: [1, -2] }),
    ).toThrow(/tokenCountsPerSample\[1\] = -2/);
    expect(() =>
      reinforcePlusPlusAdvantages({ rewards: [0, 1], groupSize: 1, baseline: 'mean' as 'none' }),
    ).toThrow(/baseline/);
  });

  it('has mean 0 and population variance ~1 whenever there is spread (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((groupSize) =>
          fc.tuple(
            fc.constant(groupSize),
            fc.integer({ min: 1, max: 6 }).chain((groups) =>
              fc.array(fc.integer({ min: -50, max: 50 }), {
                minLength: groups * groupSize,
                maxLength: groups * groupSize,
              }),
            ),
          ),
        ),
        fc.constantFrom('group-mean' as const, 'none' as const),
        ([groupSize, rewards], baseline) => {
          const { advantages } = reinforcePlusPlusAdvantages({ rewards, groupSize, baseline });
          const n = advantages.length;
          const mean = advantages.reduce((a, b) => a + b, 0) / n;
          const variance = advantages.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
          expect(Math.abs(mean)).toBeLessThan(1e-12);
          const allZero = advantages.every((value) => value === 0);
          // Integer rewards: any spread gives a variance >= 1/(4 n^2) >> 1e-8, so variance ~ 1.
          if (!allZero) expect(variance).toBeCloseTo(1, 5);
        },
      ),
      { seed: 5, numRuns: 300 },
    );
  });
});
