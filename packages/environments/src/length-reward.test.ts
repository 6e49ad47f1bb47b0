import { InvalidArgumentError, type RewardContext, ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { lengthReward, overlongPenalty } from './length-reward';

function withLength(completionTokenCount: number): RewardContext {
  return {
    scenario: null,
    messages: [],
    completion: 'x',
    turnIndex: 0,
    done: true,
    completionTokenCount,
  };
}

describe('overlongPenalty (DAPO soft overlong punishment)', () => {
  it('matches hand values around both boundaries, L_max = 128, L_cache = 32', () => {
    // Safe up to L_max - L_cache = 96, then linear down to -1 at 128, then -1.
    const cases: [number, number][] = [
      [0, 0],
      [95, 0],
      [96, 0],
      [97, -1 / 32],
      [104, -0.25],
      [112, -0.5],
      [127, -31 / 32],
      [128, -1],
      [129, -1],
      [100_000, -1],
    ];
    for (const [length, expected] of cases)
      expect(overlongPenalty(length, 128, 32)).toBeCloseTo(expected, 12);
  });

  it('is a hard cut without a buffer, and linear from 0 when the buffer is the whole range', () => {
    expect(overlongPenalty(128, 128, 0)).toBe(0);
    expect(overlongPenalty(129, 128, 0)).toBe(-1);
    expect(overlongPenalty(0, 10, 10)).toBe(0);
    expect(overlongPenalty(5, 10, 10)).toBeCloseTo(-0.5, 12);
    expect(overlongPenalty(10, 10, 10)).toBeCloseTo(-1, 12);
  });
});

describe('lengthReward', () => {
  it('scores completionTokenCount with the overlong buffer', () => {
    const reward = lengthReward({ maxTokens: 128, bufferTokens: 32 });
    expect(reward.name).toBe('length');
    expect(reward.score(withLength(96))).toBe(0);
    expect(reward.score(withLength(112))).toBeCloseTo(-0.5, 12);
    expect(reward.score(withLength(200))).toBe(-1);
  });

  it('adds the target-length bonus weight * exp(-((L - T) / S)^2 / 2)', () => {
    const reward = lengthReward({
      maxTokens: 50,
      bufferTokens: 10,
      target: { tokens: 40, scale: 20, weight: 2 },
    });
    expect(reward.score(withLength(40))).toBeCloseTo(2, 12);
    // 2 * exp(-0.5) = 1.2130613194252668
    expect(reward.score(withLength(20))).toBeCloseTo(1.2130613194252668, 12);
    // L = 45: overlong (40 - 45) / 10 = -0.5; bonus 2 * exp(-0.03125) = 2 * (1 - 0.03125 + 0.03125^2 / 2 - ...) = 1.93846647
    expect(reward.score(withLength(45))).toBeCloseTo(-0.5 + 1.93846647, 8);
  });

  it('rejects bad options and token counts, naming them', () => {
    expect(() => lengthReward({ maxTokens: 10, bufferTokens: 11 })).toThrow(ValidationError);
    expect(() => lengthReward({ maxTokens: 10, bufferTokens: 11 })).toThrow(/bufferTokens/);
    expect(() => lengthReward({ maxTokens: 0 })).toThrow(/maxTokens/);
    const reward = lengthReward({ maxTokens: 10 });
    expect(() => reward.score(withLength(Number.NaN))).toThrow(InvalidArgumentError);
    expect(() => reward.score(withLength(-1))).toThrow(/completionTokenCount/);
  });
});
