import { criticAdvantages, groupRelativeAdvantages } from '@cohort/advantages';
import type { Transition } from '@cohort/core';

/**
 * Group-relative advantages over transitions that share a `groupId` (the same
 * query answered several times): `A_i = (r_i - mean_g r) / (std_g r + 1e-4)`
 * with the sample standard deviation of the group (GRPO, Shao et al. 2024,
 * sec. 4.1.2), or `A_i = r_i - mean_g r` with `scale: 'none'` (Dr. GRPO, Liu et
 * al. 2025). Groups need not be contiguous in the batch nor of equal size.
 * Transitions without a `groupId` form one group together; a group of one, or
 * one whose rewards are all equal, gets advantage 0 (see `groupRelativeAdvantages`).
 *
 * @throws NonFiniteError naming `rewards[i]` (the position inside its group) on a NaN reward.
 * @example
 * ```ts
 * transitionGroupAdvantages([{ ...t, reward: 1, groupId: 'a' }, { ...t, reward: 0, groupId: 'a' }]);
 * // [0.7070, -0.7070]
 * ```
 */
export function transitionGroupAdvantages(
  batch: readonly Pick<Transition, 'reward' | 'groupId'>[],
  options: { scale?: 'group' | 'none' } = {},
): number[] {
  const groups = new Map<string | undefined, number[]>();
  batch.forEach((transition, index) => {
    const members = groups.get(transition.groupId) ?? [];
    members.push(index);
    groups.set(transition.groupId, members);
  });
  const advantages = new Array<number>(batch.length).fill(0);
  for (const members of groups.values()) {
    const { advantages: groupAdvantages } = groupRelativeAdvantages({
      rewards: members.map((index) => batch[index]!.reward),
      groupSize: members.length,
      scale: options.scale ?? 'group',
    });
    members.forEach((index, position) => {
      advantages[index] = groupAdvantages[position]!;
    });
  }
  return advantages;
}

/**
 * Critic-baseline advantages `A_i = r_i - V(x_i)` (REINFORCE with a learned
 * baseline, Sutton and Barto 2018, sec. 13.4), with `V` the critic's detached
 * prediction; `normalization: 'whiten'` then centers and scales them over the
 * batch, `A_i <- (A_i - mean A) / (std A + 1e-8)` with the population standard
 * deviation, as PPO implementations do (Andrychowicz et al. 2021, "What matters
 * in on-policy RL", sec. 3.5). A batch of one, or of equal raw advantages,
 * whitens to 0.
 *
 * @throws NonFiniteError naming `rewards[i]` or `values[i]`.
 * @example
 * ```ts
 * criticBaselineAdvantages({ rewards: [1, 0], values: [0.25, 0.5], normalization: 'none' }); // [0.75, -0.5]
 * ```
 */
export function criticBaselineAdvantages(options: {
  rewards: readonly number[];
  values: readonly number[];
  normalization: 'whiten' | 'none';
}): number[] {
  const { advantages } = criticAdvantages({ rewards: options.rewards, values: options.values });
  if (options.normalization === 'none' || advantages.length === 0) return advantages;
  const center = advantages.reduce((sum, value) => sum + value, 0) / advantages.length;
  const centered = advantages.map((value) => value - center);
  const spread = Math.sqrt(
    centered.reduce((sum, value) => sum + value * value, 0) / centered.length,
  );
  if (spread === 0) return centered.map(() => 0);
  return centered.map((value) => value / (spread + 1e-8));
}
