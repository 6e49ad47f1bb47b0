import { NonFiniteError, Random } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { shapeReturns } from './return-shaping-stage';
import { fixtureTrajectory } from './stage-test-fixtures';

const random = new Random(1);
const logits = Array.from({ length: 100 }, (_, id) => Math.sin(id));
const trajectories = [1, -0.5].map((reward, index) =>
  fixtureTrajectory({
    id: `t${index}`,
    random,
    behaviorLogits: logits,
    length: 5,
    sampled: 2,
    reward,
  }),
);

describe('shapeReturns', () => {
  it('subtracts beta times the summed KL from the return when the KL is in the reward', () => {
    expect(
      shapeReturns({
        trajectories,
        klSumPerTrajectory: [0.4, 2],
        klCoefficient: 0.25,
        placement: 'reward',
      }),
    ).toEqual([1 - 0.25 * 0.4, -0.5 - 0.25 * 2]);
  });

  it('leaves the return alone when the KL is in the loss or was not computed', () => {
    expect(
      shapeReturns({
        trajectories,
        klSumPerTrajectory: [0.4, 2],
        klCoefficient: 0.25,
        placement: 'loss',
      }),
    ).toEqual([1, -0.5]);
    expect(
      shapeReturns({
        trajectories,
        klSumPerTrajectory: [],
        klCoefficient: 0.25,
        placement: 'reward',
      }),
    ).toEqual([1, -0.5]);
  });

  it('refuses a non-finite return, naming it', () => {
    const call = () =>
      shapeReturns({
        trajectories,
        klSumPerTrajectory: [0, Number.POSITIVE_INFINITY],
        klCoefficient: 1,
        placement: 'reward',
      });
    expect(call).toThrow(NonFiniteError);
    expect(call).toThrow(/returns\[1\]/);
  });
});
