import { NonFiniteError, type Trajectory } from '@cohort/core';

/**
 * The return-shaping stage: the scalar return of each trajectory that the
 * advantage stage sees. With the KL placed in the reward (PPO for RLHF,
 * Ouyang et al. 2022, eq. 2) the return is `R - beta * sum_t KL_t` over the
 * sampled tokens; with the KL in the loss it is the total reward unchanged.
 *
 * @throws NonFiniteError naming the trajectory when a return is not finite.
 * @example
 * ```ts
 * shapeReturns({ trajectories, klSumPerTrajectory: [0.5], klCoefficient: 0.1, placement: 'reward' }); // [R - 0.05]
 * ```
 */
export function shapeReturns(options: {
  trajectories: readonly Trajectory[];
  /** Sum of the per-token KL of each trajectory; empty when the KL term is off. */
  klSumPerTrajectory: readonly number[];
  klCoefficient: number;
  placement: 'loss' | 'reward';
}): number[] {
  const { trajectories, klSumPerTrajectory, klCoefficient } = options;
  const inReward = options.placement === 'reward' && klSumPerTrajectory.length > 0;
  return trajectories.map((trajectory, index) => {
    const value = inReward
      ? trajectory.totalReward - klCoefficient * klSumPerTrajectory[index]!
      : trajectory.totalReward;
    if (!Number.isFinite(value)) {
      throw new NonFiniteError({
        quantity: `returns[${index}]`,
        value,
        context: `trajectory ${trajectory.id}`,
      });
    }
    return value;
  });
}
