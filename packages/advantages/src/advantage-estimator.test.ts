import type { AdvantageEstimator } from '@cohort/core';
import { InvalidArgumentError, ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { createAdvantageEstimator } from './advantage-estimator';
import { AdvantageEstimatorOptionsSchema } from './advantage-estimator-options';

const rewards = [1, 0, 0, 0, 2, 2, 3, 1];

describe('createAdvantageEstimator', () => {
  it('fills in the documented defaults', () => {
    expect(AdvantageEstimatorOptionsSchema.parse({ type: 'grpo' })).toEqual({
      type: 'grpo',
      scale: 'group',
      epsilon: 1e-4,
      baseline: 'mean',
      zeroSpreadTolerance: 0,
    });
    expect(AdvantageEstimatorOptionsSchema.parse({ type: 'reinforce++' })).toEqual({
      type: 'reinforce++',
      baseline: 'group-mean',
      variance: 'population',
      epsilon: 1e-8,
      zeroSpreadTolerance: 0,
    });
  });

  it('computes each estimator from hand-derived values', () => {
    const grpo: AdvantageEstimator = createAdvantageEstimator({ type: 'grpo' });
    expect(grpo.name).toBe('grpo');
    const a = 0.5 / (Math.SQRT1_2 + 1e-4);
    // Group [3, 1]: mean 2, sample std sqrt(2).
    const b = 1 / (Math.SQRT2 + 1e-4);
    const grpoResult = grpo.estimate({ rewards, groupSize: 2 });
    [a, -a, 0, 0, 0, 0, b, -b].forEach((value, index) => {
      expect(grpoResult.advantages[index]).toBeCloseTo(value, 12);
    });
    expect(grpoResult.zeroSpreadGroupFraction).toBe(0.5);

    const drGrpo = createAdvantageEstimator({ type: 'dr-grpo' }).estimate({
      rewards,
      groupSize: 2,
    });
    expect(drGrpo.advantages).toEqual([0.5, -0.5, 0, 0, 0, 0, 1, -1]);

    const rloo = createAdvantageEstimator({ type: 'rloo' }).estimate({ rewards, groupSize: 4 });
    // [1,0,0,0] -> [1, -1/3, -1/3, -1/3]; [2,2,3,1]: 2 - 2 = 0, 0, 3 - 5/3, 1 - 7/3.
    [1, -1 / 3, -1 / 3, -1 / 3, 0, 0, 4 / 3, -4 / 3].forEach((value, index) => {
      expect(rloo.advantages[index]).toBeCloseTo(value, 14);
    });

    const critic = createAdvantageEstimator({ type: 'critic' }).estimate({
      rewards: [1, 1],
      groupSize: 2,
      values: [0.5, 2],
    });
    expect(critic).toEqual({ advantages: [0.5, -1], zeroSpreadGroupFraction: 1 });

    const reinforce = createAdvantageEstimator({ type: 'reinforce++', baseline: 'none' }).estimate({
      rewards: [0, 2],
      groupSize: 1,
    });
    // mean 1, population variance 1.
    expect(reinforce.advantages[0]).toBeCloseTo(-1 / Math.sqrt(1 + 1e-8), 14);
  });

  it('refuses bad configs with a ValidationError naming the field', () => {
    try {
      createAdvantageEstimator({ type: 'grpo', epsilon: -1 });
      expect.unreachable();
    } catch (error) {
      expect(ValidationError.isInstance(error)).toBe(true);
      expect((error as ValidationError).issues[0]?.path).toBe('epsilon');
    }
    expect(() => createAdvantageEstimator({ type: 'ppo' } as never)).toThrow(ValidationError);
    expect(() => createAdvantageEstimator({ type: 'rloo', scale: 'group' } as never)).toThrow(
      ValidationError,
    );
  });

  it("the 'critic' estimator needs values", () => {
    expect(() =>
      createAdvantageEstimator({ type: 'critic' }).estimate({ rewards: [1], groupSize: 1 }),
    ).toThrow(InvalidArgumentError);
  });
});
