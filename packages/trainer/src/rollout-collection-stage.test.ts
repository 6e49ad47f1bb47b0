import type { TrajectoryGroup } from '@cohort/core';
import { Random } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { refuseStaleGroups } from './rollout-collection-stage';
import { fixtureTrajectory } from './stage-test-fixtures';

const random = new Random(3);
const logits = Array.from({ length: 100 }, (_, id) => Math.cos(id));
function group(id: string, versions: number[]): TrajectoryGroup {
  return {
    groupId: id,
    scenarioId: 'fixture',
    trajectories: versions.map((policyVersion, index) =>
      fixtureTrajectory({
        id: `${id}-${index}`,
        random,
        behaviorLogits: logits,
        length: 4,
        sampled: 1,
        reward: index,
        policyVersion,
      }),
    ),
  };
}

describe('refuseStaleGroups', () => {
  const groups = [
    group('fresh', [5, 5]),
    group('one-behind', [4, 5]),
    group('three-behind', [5, 2]),
  ];

  it('keeps groups within maxPolicyLag versions and refuses a group with any older trajectory', () => {
    const zero = refuseStaleGroups({ groups, currentVersion: 5, maxPolicyLag: 0 });
    expect(zero.kept.map((entry) => entry.groupId)).toEqual(['fresh']);
    expect(zero.refused.map((entry) => entry.groupId)).toEqual(['one-behind', 'three-behind']);
    const one = refuseStaleGroups({ groups, currentVersion: 5, maxPolicyLag: 1 });
    expect(one.kept.map((entry) => entry.groupId)).toEqual(['fresh', 'one-behind']);
    const three = refuseStaleGroups({ groups, currentVersion: 5, maxPolicyLag: 3 });
    expect(three.refused).toEqual([]);
  });
});
