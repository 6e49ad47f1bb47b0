import type { RewardContext, Scenario, Trajectory } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { scoreEpisodeRewards } from './reward-scoring-stage';

function collected(options: {
  id: string;
  turns: Trajectory['turns'];
  rewardsPerTurn: number[];
  turnSums: Record<string, number | null>;
  endReason?: Trajectory['endReason'];
}): Trajectory {
  const length = Math.max(0, ...options.turns.map((turn) => turn.tokenEnd));
  return {
    id: options.id,
    scenarioId: 'refund-1',
    seed: 7,
    policyVersion: 3,
    messages: options.turns.map(({ role, content }) => ({ role, content })),
    turns: options.turns,
    tokenIds: Array.from({ length }, (_, index) => 4 + index),
    lossMask: Array.from({ length }, () => 0 as const),
    behaviorLogProbs: Array.from({ length }, () => 0),
    rewardsPerTurn: options.rewardsPerTurn,
    rewardsByFunction: options.turnSums,
    totalReward: options.rewardsPerTurn.reduce((sum, value) => sum + value, 0),
    endReason: options.endReason ?? 'success',
    truncated: false,
    temperature: 1,
  };
}

describe('the reward-scoring stage', () => {
  it('scores the episode-scoped functions on the last sampled turn and adds them to the return', async () => {
    const twoTurns = collected({
      id: 'a',
      turns: [
        { role: 'user', content: 'my order', tokenStart: 0, tokenEnd: 5, reward: null },
        {
          role: 'assistant',
          content: 'which one?',
          tokenStart: 5,
          tokenEnd: 9,
          reward: 0.25,
          finishReason: 'eos',
        },
        { role: 'user', content: 'the blue one', tokenStart: 9, tokenEnd: 14, reward: null },
        {
          role: 'assistant',
          content: 'refunded',
          tokenStart: 14,
          tokenEnd: 17,
          reward: -0.5,
          finishReason: 'length',
        },
      ],
      rewardsPerTurn: [0.25, -0.5],
      turnSums: { 'per-turn': 1.5 },
    });
    // An assistant message of the opening prompt (no finish reason) is not the agent's turn.
    const cutAtOpening = collected({
      id: 'b',
      turns: [
        {
          role: 'assistant',
          content: 'scripted greeting',
          tokenStart: 0,
          tokenEnd: 6,
          reward: null,
        },
      ],
      rewardsPerTurn: [],
      turnSums: {},
      endReason: 'length',
    });
    const seen: RewardContext<Scenario>[] = [];
    const scenario = { id: 'refund-1' } as unknown as Scenario;
    const result = await scoreEpisodeRewards({
      groups: [{ groupId: 'g', scenarioId: 'refund-1', trajectories: [twoTurns, cutAtOpening] }],
      scenarios: [scenario],
      rewards: [
        {
          reward: {
            name: 'length',
            score: (context) => {
              seen.push(context);
              return context.completionTokenCount / 4;
            },
          },
          weight: 0.5,
        },
        { reward: { name: 'broken', score: () => Number.NaN }, weight: 3 },
        { reward: { name: 'per-turn', scope: 'turn', score: () => 100 }, weight: 2 },
      ],
    });
    expect(
      seen.map(
        ({ completion, completionTokenCount, turnIndex, finishReason, endReason, done }) => ({
          completion,
          completionTokenCount,
          turnIndex,
          finishReason,
          endReason,
          done,
        }),
      ),
    ).toEqual([
      {
        completion: 'refunded',
        completionTokenCount: 3,
        turnIndex: 1,
        finishReason: 'length',
        endReason: 'success',
        done: true,
      },
      {
        completion: '',
        completionTokenCount: 0,
        turnIndex: 0,
        finishReason: undefined,
        endReason: 'length',
        done: true,
      },
    ]);
    expect(seen[0]!.scenario).toBe(scenario);
    const [a, b] = result.groups[0]!.trajectories;
    // 0.25 - 0.5 from the turns, 0.5 x 3/4 from `length`; `broken` scores null and adds nothing.
    expect(a!.totalReward).toBeCloseTo(0.125, 12);
    expect(a!.rewardsByFunction).toEqual({ 'per-turn': 1.5, length: 0.75, broken: null });
    expect(b!.totalReward).toBe(0);
    expect(result.failures).toEqual([
      { rewardName: 'broken', trajectoryId: 'a', message: 'returned NaN, which is not finite' },
      { rewardName: 'broken', trajectoryId: 'b', message: 'returned NaN, which is not finite' },
    ]);
    expect(result.records.filter((record) => record.trajectoryId === 'a')).toEqual([
      { trajectoryId: 'a', rewardName: 'per-turn', scope: 'turn', weight: 2, score: 1.5 },
      { trajectoryId: 'a', rewardName: 'length', scope: 'episode', weight: 0.5, score: 0.75 },
      { trajectoryId: 'a', rewardName: 'broken', scope: 'episode', weight: 3, score: null },
    ]);
    // The collected records are left as they were.
    expect(twoTurns.totalReward).toBe(-0.25);
    expect(twoTurns.rewardsByFunction).toEqual({ 'per-turn': 1.5 });
  });
});
