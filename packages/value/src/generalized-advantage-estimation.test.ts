import { InvalidArgumentError, NonFiniteError } from '@cohort/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchedGeneralizedAdvantageEstimation } from './batched-generalized-advantage-estimation';
import { discountedReturns } from './discounted-returns';
import { generalizedAdvantageEstimation } from './generalized-advantage-estimation';

/** Reference: the direct O(T^2) sum A_t = sum_l (gamma lambda)^l delta_{t+l}, no recursion. */
function referenceGae(
  rewards: number[],
  values: number[],
  gamma: number,
  lambda: number,
  bootstrapValue: number,
): number[] {
  const length = rewards.length;
  const deltas = rewards.map(
    (reward, t) => reward + gamma * (t + 1 < length ? values[t + 1]! : bootstrapValue) - values[t]!,
  );
  return deltas.map((_, t) => {
    let sum = 0;
    for (let l = 0; t + l < length; l++) sum += (gamma * lambda) ** l * deltas[t + l]!;
    return sum;
  });
}

/** Reference: discounted return as an explicit power sum. */
function referenceReturns(rewards: number[], gamma: number, bootstrapValue: number): number[] {
  return rewards.map((_, t) => {
    let sum = gamma ** (rewards.length - t) * bootstrapValue;
    for (let l = 0; t + l < rewards.length; l++) sum += gamma ** l * rewards[t + l]!;
    return sum;
  });
}

function expectClose(actual: number[], expected: number[], tolerance = 1e-9): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, index) => {
    const target = expected[index]!;
    expect(Math.abs(value - target)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(target)));
  });
}

const finite = fc.double({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true });
const trajectory = fc.integer({ min: 0, max: 12 }).chain((length) =>
  fc.record({
    rewards: fc.array(finite, { minLength: length, maxLength: length }),
    values: fc.array(finite, { minLength: length, maxLength: length }),
    mask: fc.array(fc.constantFrom(0, 1), { minLength: length, maxLength: length }),
    gamma: fc.double({ min: 0, max: 1, noNaN: true }),
    lambda: fc.double({ min: 0, max: 1, noNaN: true }),
    bootstrapValue: finite,
  }),
);

describe('generalizedAdvantageEstimation', () => {
  it('matches hand-computed values', () => {
    const simple = generalizedAdvantageEstimation({
      rewards: [0, 1],
      values: [0.5, 0.5],
      gamma: 1,
      lambda: 1,
    });
    expectClose(simple.advantages, [0.5, 0.5], 1e-15);
    expectClose(simple.returns, [1, 1], 1e-15);
    // deltas: 1 + 0.9 * 1 - 0.5 = 1.4; 0 + 0.9 * 1.5 - 1 = 0.35; 2 + 0.9 * 2 - 1.5 = 2.3.
    // gamma * lambda = 0.72: A2 = 2.3, A1 = 0.35 + 0.72 * 2.3 = 2.006, A0 = 1.4 + 0.72 * 2.006 = 2.84432.
    const result = generalizedAdvantageEstimation({
      rewards: [1, 0, 2],
      values: [0.5, 1, 1.5],
      gamma: 0.9,
      lambda: 0.8,
      bootstrapValue: 2,
    });
    expectClose(result.advantages, [2.84432, 2.006, 2.3], 1e-14);
    expectClose(result.returns, [3.34432, 3.006, 3.8], 1e-14);
  });

  it('agrees with the direct sum formula (property)', () => {
    fc.assert(
      fc.property(trajectory, ({ rewards, values, gamma, lambda, bootstrapValue }) => {
        const result = generalizedAdvantageEstimation({
          rewards,
          values,
          gamma,
          lambda,
          bootstrapValue,
        });
        const expected = referenceGae(rewards, values, gamma, lambda, bootstrapValue);
        expectClose(result.advantages, expected, 1e-9);
        expectClose(
          result.returns,
          expected.map((advantage, t) => advantage + values[t]!),
          1e-9,
        );
      }),
      { seed: 17, numRuns: 300 },
    );
  });

  it('with lambda = 1 equals discounted returns minus values, with lambda = 0 the TD errors (property)', () => {
    fc.assert(
      fc.property(trajectory, ({ rewards, values, gamma, bootstrapValue }) => {
        const monteCarlo = generalizedAdvantageEstimation({
          rewards,
          values,
          gamma,
          lambda: 1,
          bootstrapValue,
        });
        const returns = referenceReturns(rewards, gamma, bootstrapValue);
        expectClose(
          monteCarlo.advantages,
          returns.map((ret, t) => ret - values[t]!),
          1e-9,
        );
        expectClose(monteCarlo.returns, returns, 1e-9);
        const oneStep = generalizedAdvantageEstimation({
          rewards,
          values,
          gamma,
          lambda: 0,
          bootstrapValue,
        });
        const tdErrors = rewards.map(
          (reward, t) =>
            reward +
            gamma * (t + 1 < rewards.length ? values[t + 1]! : bootstrapValue) -
            values[t]!,
        );
        expectClose(oneStep.advantages, tdErrors, 1e-12);
      }),
      { seed: 19, numRuns: 300 },
    );
  });

  it("'skip' runs GAE over the unmasked steps only (property)", () => {
    fc.assert(
      fc.property(trajectory, ({ rewards, values, mask, gamma, lambda, bootstrapValue }) => {
        const onMask = rewards.map((reward, t) => (mask[t] === 1 ? reward : 0));
        const result = generalizedAdvantageEstimation({
          rewards: onMask,
          values,
          mask,
          gamma,
          lambda,
          bootstrapValue,
        });
        // Reference: compress to the unmasked steps, run the sum formula, scatter back.
        const kept = mask.flatMap((flag, t) => (flag === 1 ? [t] : []));
        const compressed = referenceGae(
          kept.map((t) => onMask[t]!),
          kept.map((t) => values[t]!),
          gamma,
          lambda,
          bootstrapValue,
        );
        const expected = rewards.map(() => 0);
        kept.forEach((t, index) => {
          expected[t] = compressed[index]!;
        });
        expectClose(result.advantages, expected, 1e-9);
        expectClose(
          result.returns,
          expected.map((advantage, t) => advantage + values[t]!),
          1e-9,
        );
      }),
      { seed: 23, numRuns: 300 },
    );
  });

  it("'zero' treats masked steps as reward 0 and value 0, 'step' as ordinary steps", () => {
    const rewards = [1, 5, 0, 2];
    const values = [0.5, 9, 1, 0.25];
    const mask = [1, 0, 1, 1];
    const zero = generalizedAdvantageEstimation({
      rewards,
      values,
      mask,
      gamma: 0.9,
      lambda: 0.5,
      maskedPositions: 'zero',
    });
    const zeroReference = referenceGae([1, 0, 0, 2], [0.5, 0, 1, 0.25], 0.9, 0.5, 0);
    expectClose(zero.advantages, [zeroReference[0]!, 0, zeroReference[2]!, zeroReference[3]!]);
    expectClose(zero.returns, [
      zeroReference[0]! + 0.5,
      9,
      zeroReference[2]! + 1,
      zeroReference[3]! + 0.25,
    ]);
    const step = generalizedAdvantageEstimation({
      rewards,
      values,
      mask,
      gamma: 0.9,
      lambda: 0.5,
      maskedPositions: 'step',
    });
    const stepReference = referenceGae(rewards, values, 0.9, 0.5, 0);
    expectClose(step.advantages, [stepReference[0]!, 0, stepReference[2]!, stepReference[3]!]);
    // The three conventions really differ here.
    const skip = generalizedAdvantageEstimation({
      rewards: [1, 0, 0, 2],
      values,
      mask,
      gamma: 0.9,
      lambda: 0.5,
    });
    expect(skip.advantages[0]).not.toBeCloseTo(zero.advantages[0]!, 3);
    expect(skip.advantages[0]).not.toBeCloseTo(step.advantages[0]!, 3);
  });

  it("'skip' refuses a reward on a masked position, since it would be lost", () => {
    expect(() =>
      generalizedAdvantageEstimation({
        rewards: [0, 3, 1],
        values: [0, 0, 0],
        mask: [1, 0, 1],
        gamma: 1,
        lambda: 1,
      }),
    ).toThrow(/rewards\[1\] = 3: is on a masked position/);
  });

  it('handles empty, one-step, huge and tiny trajectories', () => {
    expect(
      generalizedAdvantageEstimation({ rewards: [], values: [], gamma: 0.9, lambda: 0.9 }),
    ).toEqual({ advantages: [], returns: [] });
    const one = generalizedAdvantageEstimation({
      rewards: [2],
      values: [0.5],
      gamma: 0.5,
      lambda: 0.5,
      bootstrapValue: 3,
    });
    expectClose(one.advantages, [2 + 1.5 - 0.5], 1e-15);
    const huge = generalizedAdvantageEstimation({
      rewards: [1e300, 1e300],
      values: [0, 0],
      gamma: 1,
      lambda: 1,
    });
    expectClose(huge.advantages, [2e300, 1e300], 1e-15);
    const tiny = generalizedAdvantageEstimation({
      rewards: [1e-300, 1e-300],
      values: [0, 0],
      gamma: 0.5,
      lambda: 1,
    });
    expect(tiny.advantages[0]! / 1.5e-300).toBeCloseTo(1, 12);
  });

  it('refuses NaN and bad arguments with typed errors naming them', () => {
    try {
      generalizedAdvantageEstimation({
        rewards: [0, 1],
        values: [0, Number.NaN],
        gamma: 1,
        lambda: 1,
      });
      expect.unreachable();
    } catch (error) {
      expect(NonFiniteError.isInstance(error)).toBe(true);
      expect((error as NonFiniteError).quantity).toBe('values[1]');
    }
    expect(() =>
      generalizedAdvantageEstimation({
        rewards: [0],
        values: [0],
        gamma: 1,
        lambda: 1,
        bootstrapValue: Number.NaN,
      }),
    ).toThrow(/bootstrapValue is NaN/);
    expect(() =>
      generalizedAdvantageEstimation({ rewards: [0, 1], values: [0], gamma: 1, lambda: 1 }),
    ).toThrow(/values.length = 1: must equal rewards.length = 2/);
    expect(() =>
      generalizedAdvantageEstimation({ rewards: [0], values: [0], gamma: 1.5, lambda: 1 }),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      generalizedAdvantageEstimation({ rewards: [0], values: [0], gamma: 1, lambda: Number.NaN }),
    ).toThrow(/lambda = NaN/);
    expect(() =>
      generalizedAdvantageEstimation({ rewards: [0], values: [0], mask: [2], gamma: 1, lambda: 1 }),
    ).toThrow(/mask\[0\] = 2/);
    expect(() =>
      generalizedAdvantageEstimation({
        rewards: [0],
        values: [0],
        gamma: 1,
        lambda: 1,
        maskedPositions: 'ignore' as 'skip',
      }),
    ).toThrow(/maskedPositions/);
  });
});

describe('batchedGeneralizedAdvantageEstimation', () => {
  it('computes each trajectory of a ragged batch on its own', () => {
    const trajectories = [
      { rewards: [1], values: [0] },
      { rewards: [1, 0, 2], values: [0.5, 1, 1.5], bootstrapValue: 2 },
      { rewards: [], values: [] },
      { rewards: [0, 0, 1], values: [0, 0, 0], mask: [1, 0, 1] },
    ];
    const result = batchedGeneralizedAdvantageEstimation({ trajectories, gamma: 0.9, lambda: 0.8 });
    expect(result.advantages.map((row) => row.length)).toEqual([1, 3, 0, 3]);
    trajectories.forEach((trajectory, index) => {
      const single = generalizedAdvantageEstimation({ ...trajectory, gamma: 0.9, lambda: 0.8 });
      expect(result.advantages[index]).toEqual(single.advantages);
      expect(result.returns[index]).toEqual(single.returns);
    });
    expectClose(result.advantages[1]!, [2.84432, 2.006, 2.3], 1e-14);
    // Masked step skipped: deltas over steps 0 and 2 are 0 and 1; A0 = 0 + 0.72 * 1.
    expectClose(result.advantages[3]!, [0.72, 0, 1], 1e-15);
    expect(
      batchedGeneralizedAdvantageEstimation({ trajectories: [], gamma: 1, lambda: 1 }),
    ).toEqual({
      advantages: [],
      returns: [],
    });
  });

  it('names the trajectory in errors', () => {
    expect(() =>
      batchedGeneralizedAdvantageEstimation({
        trajectories: [
          { rewards: [0], values: [0] },
          { rewards: [0], values: [Number.POSITIVE_INFINITY] },
        ],
        gamma: 1,
        lambda: 1,
      }),
    ).toThrow(/trajectories\[1\]\.values\[0\] is Infinity/);
    expect(() =>
      batchedGeneralizedAdvantageEstimation({
        trajectories: [null as never],
        gamma: 1,
        lambda: 1,
      }),
    ).toThrow(/trajectories\[0\]/);
  });
});

describe('discountedReturns', () => {
  it('matches hand values and the power-sum formula', () => {
    expectClose(discountedReturns({ rewards: [0, 0, 1], gamma: 0.9 }), [0.81, 0.9, 1], 1e-15);
    expectClose(discountedReturns({ rewards: [1], gamma: 0.5, bootstrapValue: 4 }), [3], 1e-15);
    expect(discountedReturns({ rewards: [], gamma: 0.5, bootstrapValue: 4 })).toEqual([]);
    fc.assert(
      fc.property(trajectory, ({ rewards, gamma, bootstrapValue }) => {
        expectClose(
          discountedReturns({ rewards, gamma, bootstrapValue }),
          referenceReturns(rewards, gamma, bootstrapValue),
          1e-9,
        );
      }),
      { seed: 29, numRuns: 200 },
    );
    expect(() => discountedReturns({ rewards: [Number.NaN], gamma: 1 })).toThrow(NonFiniteError);
    expect(() => discountedReturns({ rewards: [1], gamma: -0.1 })).toThrow(/gamma = -0.1/);
  });
});
