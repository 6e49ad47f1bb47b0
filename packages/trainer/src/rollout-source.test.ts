import type { TrajectoryGroup } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { checkSourceGroups } from './rollout-source';

const group = (size: number): TrajectoryGroup =>
  ({
    groupId: 'g',
    scenarioId: 'refund',
    trajectories: Array.from({ length: size }, () => ({})),
  }) as TrajectoryGroup;

describe('checkSourceGroups', () => {
  it('accepts groups of exactly groupSize and names the source and group of any other size', () => {
    expect(() =>
      checkSourceGroups({ kind: 'gateway', groups: [group(4), group(4)], groupSize: 4 }),
    ).not.toThrow();
    expect(() =>
      checkSourceGroups({ kind: 'gateway', groups: [group(4), group(3)], groupSize: 4 }),
    ).toThrow(/rolloutSource \(gateway\) group refund.*3 trajectories; groupSize is 4/);
  });
});
