import { NonFiniteError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import {
  criticBaselineAdvantages,
  transitionGroupAdvantages,
} from './candidate-selector-advantages';

describe('transitionGroupAdvantages', () => {
  it('normalizes within each groupId, wherever its members sit in the batch', () => {
    // Group a: [1, 0, 0.5] -> mean 0.5, sample std 0.5; group b: [2, 4] -> mean 3, std sqrt(2).
    const advantages = transitionGroupAdvantages([
      { reward: 1, groupId: 'a' },
      { reward: 2, groupId: 'b' },
      { reward: 0, groupId: 'a' },
      { reward: 4, groupId: 'b' },
      { reward: 0.5, groupId: 'a' },
    ]);
    const expected = [
      0.5 / 0.5001,
      -1 / (Math.SQRT2 + 1e-4),
      -0.5 / 0.5001,
      1 / (Math.SQRT2 + 1e-4),
      0,
    ];
    advantages.forEach((value, index) => {
      expect(value).toBeCloseTo(expected[index]!, 10);
    });
  });

  it('does not divide with scale none (Dr. GRPO)', () => {
    const advantages = transitionGroupAdvantages(
      [
        { reward: 3, groupId: 'a' },
        { reward: 1, groupId: 'a' },
      ],
      { scale: 'none' },
    );
    expect(advantages).toEqual([1, -1]);
  });

  it('gives 0 to a group of one and to a group of equal rewards; ungrouped transitions form one group', () => {
    expect(
      transitionGroupAdvantages([
        { reward: 5, groupId: 'alone' },
        { reward: 2, groupId: 'same' },
        { reward: 2, groupId: 'same' },
        { reward: 1 },
        { reward: 3 },
      ]),
    ).toEqual([0, 0, 0, -1 / (Math.SQRT2 + 1e-4), 1 / (Math.SQRT2 + 1e-4)]);
    expect(transitionGroupAdvantages([])).toEqual([]);
  });

  it('keeps huge rewards finite and tiny ones at the scale the epsilon sets', () => {
    const huge = transitionGroupAdvantages([
      { reward: 3e300, groupId: 'g' },
      { reward: 1e300, groupId: 'g' },
    ]);
    expect(huge[0]).toBeCloseTo(1 / Math.SQRT2, 6);
    expect(huge[1]).toBeCloseTo(-1 / Math.SQRT2, 6);
    const tiny = transitionGroupAdvantages([
      { reward: 3e-300, groupId: 'g' },
      { reward: 1e-300, groupId: 'g' },
    ]);
    // The epsilon 1e-4 added to the standard deviation dominates: A = 1e-300 / (1.41e-300 + 1e-4).
    expect(tiny[0]! / (1e-300 / 1e-4)).toBeCloseTo(1, 10);
    expect(tiny[1]! / tiny[0]!).toBeCloseTo(-1, 10);
  });

  it('names a NaN reward', () => {
    expect(() =>
      transitionGroupAdvantages([
        { reward: 1, groupId: 'g' },
        { reward: Number.NaN, groupId: 'g' },
      ]),
    ).toThrow(NonFiniteError);
  });
});

describe('criticBaselineAdvantages', () => {
  it('is r - V without normalization', () => {
    expect(
      criticBaselineAdvantages({
        rewards: [1, 0, 2],
        values: [0.25, 0.5, 2],
        normalization: 'none',
      }),
    ).toEqual([0.75, -0.5, 0]);
  });

  it('whitens with the population standard deviation', () => {
    // r - V = [0.75, -0.5, 0]: mean 1/12; centered [2/3, -7/12, -1/12]; var = (64 + 49 + 1) / 144 / 3.
    const spread = Math.sqrt(114 / 144 / 3);
    const advantages = criticBaselineAdvantages({
      rewards: [1, 0, 2],
      values: [0.25, 0.5, 2],
      normalization: 'whiten',
    });
    [2 / 3, -7 / 12, -1 / 12].forEach((centered, index) => {
      expect(advantages[index]).toBeCloseTo(centered / spread, 6);
    });
  });

  it('whitens a batch of one or of equal residuals to 0, and an empty batch to []', () => {
    expect(
      criticBaselineAdvantages({ rewards: [3], values: [1], normalization: 'whiten' }),
    ).toEqual([0]);
    expect(
      criticBaselineAdvantages({ rewards: [2, 3], values: [1, 2], normalization: 'whiten' }),
    ).toEqual([0, 0]);
    expect(criticBaselineAdvantages({ rewards: [], values: [], normalization: 'whiten' })).toEqual(
      [],
    );
  });

  it('names a NaN value', () => {
    expect(() =>
      criticBaselineAdvantages({ rewards: [1], values: [Number.NaN], normalization: 'none' }),
    ).toThrow(/values\[0\]/);
  });
});
