import { InvalidArgumentError, NonFiniteError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { criticAdvantages } from './critic-advantages';
import { expandToTokens } from './expand-to-tokens';

describe('criticAdvantages', () => {
  it('subtracts the value from the reward', () => {
    expect(criticAdvantages({ rewards: [1, 0, -2], values: [0.25, 0.5, -2] }).advantages).toEqual([
      0.75, -0.5, 0,
    ]);
    expect(criticAdvantages({ rewards: [], values: [] }).advantages).toEqual([]);
    expect(criticAdvantages({ rewards: [1e308], values: [-1e307] }).advantages[0]).toBeCloseTo(
      1.1e308,
      -300,
    );
  });

  it('refuses NaN values, mismatched lengths and overflow', () => {
    try {
      criticAdvantages({ rewards: [1, 2], values: [0, Number.NaN] });
      expect.unreachable();
    } catch (error) {
      expect(NonFiniteError.isInstance(error)).toBe(true);
      expect((error as NonFiniteError).quantity).toBe('values[1]');
    }
    expect(() => criticAdvantages({ rewards: [1, 2], values: [0] })).toThrow(InvalidArgumentError);
    expect(() => criticAdvantages({ rewards: [1.7e308], values: [-1.7e308] })).toThrow(
      /advantages\[0\] is Infinity/,
    );
  });
});

describe('expandToTokens', () => {
  it('broadcasts each advantage over its 0/1 mask', () => {
    expect(
      expandToTokens({
        advantages: [2, -1],
        lossMasks: [
          [0, 1, 1],
          [1, 0],
        ],
      }),
    ).toEqual([
      [0, 2, 2],
      [-1, 0],
    ]);
    // Masked tokens get +0, not -0 (which would print as -0 and compare unequal with Object.is).
    const [row] = expandToTokens({ advantages: [-3], lossMasks: [[0, 1, 0]] });
    expect(Object.is(row![0], 0)).toBe(true);
    expect(expandToTokens({ advantages: [], lossMasks: [] })).toEqual([]);
    expect(expandToTokens({ advantages: [5], lossMasks: [[]] })).toEqual([[]]);
  });

  it('refuses masks that are not 0/1, count mismatches and NaN advantages', () => {
    expect(() => expandToTokens({ advantages: [1], lossMasks: [[1, 0.5]] })).toThrow(
      /lossMasks\[0\]\[1\] = 0.5: must be 0 or 1/,
    );
    expect(() => expandToTokens({ advantages: [1, 2], lossMasks: [[1]] })).toThrow(
      InvalidArgumentError,
    );
    expect(() => expandToTokens({ advantages: [Number.NaN], lossMasks: [[1]] })).toThrow(
      /advantages\[0\] is NaN/,
    );
  });
});
