import type { AdvantageEstimator, AdvantageInput, AdvantageResult } from '@cohort/core';
import { InvalidArgumentError } from '@cohort/core';

/**
 * Group-rank advantages: within each group of G samples, a sample's advantage
 * is its reward's rank scaled to [-1, 1], `(rank - (G - 1) / 2) / ((G - 1) / 2)`,
 * with tied rewards sharing their mean rank. Only the order of the rewards
 * counts, so one outlier reward cannot dominate a step.
 */
export class RankAdvantageEstimator implements AdvantageEstimator {
  readonly name = 'group-rank';

  estimate({ rewards, groupSize }: AdvantageInput): AdvantageResult {
    if (!Number.isInteger(groupSize) || groupSize < 2 || rewards.length % groupSize !== 0) {
      throw new InvalidArgumentError({
        argument: 'groupSize',
        value: groupSize,
        message: `must be an integer >= 2 that divides rewards.length (${rewards.length})`,
      });
    }
    const advantages: number[] = [];
    let zeroSpreadGroups = 0;
    const half = (groupSize - 1) / 2;
    for (let start = 0; start < rewards.length; start += groupSize) {
      const group = rewards.slice(start, start + groupSize);
      if (group.every((reward) => reward === group[0])) zeroSpreadGroups++;
      for (const reward of group) {
        const below = group.filter((other) => other < reward).length;
        const tied = group.filter((other) => other === reward).length;
        advantages.push((below + (tied - 1) / 2 - half) / half);
      }
    }
    const groups = rewards.length / groupSize;
    return { advantages, zeroSpreadGroupFraction: groups === 0 ? 0 : zeroSpreadGroups / groups };
  }
}
