import type { Trajectory } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { turnLevelAdvantages, turnTargets } from './turn-advantages';

function trajectory(options: {
  turns: [number, number][];
  rewardsPerTurn: number[];
  totalReward: number;
  length: number;
}): Trajectory {
  return {
    id: 't',
    scenarioId: 's',
    seed: 0,
    policyVersion: 0,
    messages: [],
    turns: options.turns.flatMap(([start, end], index) => [
      {
        role: 'user' as const,
        content: `u${index}`,
        tokenStart: start - 2,
        tokenEnd: start,
        reward: null,
      },
      {
        role: 'assistant' as const,
        content: `a${index}`,
        tokenStart: start,
        tokenEnd: end,
        reward: options.rewardsPerTurn[index]!,
      },
    ]),
    tokenIds: new Array(options.length).fill(5),
    lossMask: new Array(options.length).fill(0),
    behaviorLogProbs: new Array(options.length).fill(0),
    rewardsPerTurn: options.rewardsPerTurn,
    rewardsByFunction: {},
    totalReward: options.totalReward,
    endReason: 'success',
    truncated: false,
    temperature: 1,
  };
}

describe('turn-level GAE', () => {
  const first = trajectory({
    turns: [
      [3, 6],
      [8, 10],
    ],
    rewardsPerTurn: [0.5, 0],
    totalReward: 1.5,
    length: 10,
  });
  const second = trajectory({ turns: [[3, 5]], rewardsPerTurn: [0], totalReward: -1, length: 5 });

  it('puts the episode-level rest of the return on the last turn', () => {
    const targets = turnTargets(first, -0.25);
    expect(targets.statePositions).toEqual([2, 7]);
    expect(targets.turnRanges).toEqual([
      [3, 6],
      [8, 10],
    ]);
    // 1.5 total = 0.5 on turn 0 + 1.0 scored at the end; the KL penalty -0.25 joins the end.
    expect(targets.rewards).toEqual([0.5, 0.75]);
  });

  it('matches GAE and whitening worked by hand, broadcast over each turn', () => {
    const targets = [turnTargets(first), turnTargets(second)];
    const values = [[0.2, 0.4], [0.1]];
    const { advantagesPerToken, returnsPerTurn } = turnLevelAdvantages({
      trajectories: [first, second],
      values,
      targets,
      gamma: 0.9,
      lambda: 0.8,
    });
    // first: delta1 = 1 - 0.4 = 0.6; delta0 = 0.5 + 0.9*0.4 - 0.2 = 0.66; A0 = 0.66 + 0.72*0.6 = 1.092
    // second: delta0 = -1 - 0.1 = -1.1
    const raw = [1.092, 0.6, -1.1];
    const mean = (1.092 + 0.6 - 1.1) / 3;
    const std = Math.sqrt(raw.reduce((sum, value) => sum + (value - mean) ** 2, 0) / 3 + 1e-8);
    const white = raw.map((value) => (value - mean) / std);
    expect(returnsPerTurn[0]![0]).toBeCloseTo(1.092 + 0.2, 10);
    expect(returnsPerTurn[0]![1]).toBeCloseTo(0.6 + 0.4, 10);
    expect(returnsPerTurn[1]![0]).toBeCloseTo(-1.0, 10);
    const row = advantagesPerToken[0]!;
    expect(row.slice(0, 3)).toEqual([0, 0, 0]);
    for (const position of [3, 4, 5]) expect(row[position]).toBeCloseTo(white[0]!, 10);
    expect(row[6]).toBe(0);
    expect(row[7]).toBe(0);
    for (const position of [8, 9]) expect(row[position]).toBeCloseTo(white[1]!, 10);
    expect(advantagesPerToken[1]![3]).toBeCloseTo(white[2]!, 10);
  });
});
