import { InvalidArgumentError, NonFiniteError } from '@cohort/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zeroSpreadGroupFraction, zeroSpreadGroupIndices } from './zero-spread';

describe('zero-spread groups', () => {
  it('finds groups whose rewards are all equal', () => {
    const rewards = [1, 1, 0, 1, 2, 2, 0.5, 0.5000001];
    expect(zeroSpreadGroupIndices({ rewards, groupSize: 2 })).toEqual([0, 2]);
    expect(zeroSpreadGroupFraction({ rewards, groupSize: 2 })).toBe(0.5);
    expect(zeroSpreadGroupIndices({ rewards, groupSize: 2, tolerance: 1e-6 })).toEqual([0, 2, 3]);
    expect(zeroSpreadGroupFraction({ rewards, groupSize: 4 })).toBe(0);
    expect(zeroSpreadGroupFraction({ rewards, groupSize: 1 })).toBe(1);
    expect(zeroSpreadGroupFraction({ rewards: [], groupSize: 3 })).toBe(0);
    expect(zeroSpreadGroupIndices({ rewards: [], groupSize: 3 })).toEqual([]);
  });

  it('refuses bad input', () => {
    expect(() => zeroSpreadGroupFraction({ rewards: [1, Number.NaN], groupSize: 2 })).toThrow(
      NonFiniteError,
    );
    expect(() => zeroSpreadGroupFraction({ rewards: [1, 2, 3], groupSize: 2 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => zeroSpreadGroupFraction({ rewards: [1, 2], groupSize: 2, tolerance: -1 })).toThrow(
      /tolerance = -1/,
    );
  });

  it('agrees with a count of distinct values per group (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 24 }),
        (groupSize, raw) => {
          const rewards = raw.slice(0, raw.length - (raw.length % groupSize));
          const groups = rewards.length / groupSize;
          let flat = 0;
          for (let g = 0; g < groups; g++) {
            if (new Set(rewards.slice(g * groupSize, (g + 1) * groupSize)).size === 1) flat++;
          }
          const fraction = zeroSpreadGroupFraction({ rewards, groupSize });
          expect(fraction).toBe(groups === 0 ? 0 : flat / groups);
        },
      ),
      { seed: 1, numRuns: 200 },
    );
  });
});
