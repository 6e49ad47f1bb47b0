import type { Trajectory } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { detectDegeneratePolicy, type PolicySnapshot, policySnapshot } from './degenerate-policy';
import { toolCallMetrics } from './tool-call-metrics';

function snapshot(step: number, values: Partial<PolicySnapshot>): PolicySnapshot {
  return {
    step,
    meanReward: 0,
    successRate: 0.5,
    toolCallsPerEpisode: 2,
    agentReplies: [],
    ...values,
  };
}

describe('detectDegeneratePolicy', () => {
  it('flags one reply repeated, by its share', () => {
    const replies = [...Array(6).fill('Sorry, REFUNDED.'), 'sorry,  refunded.', 'a', 'b', 'c'];
    const flags = detectDegeneratePolicy([snapshot(4, { agentReplies: replies })]);
    expect(flags).toEqual([
      {
        kind: 'repeated-reply',
        message:
          'one reply makes up 70% of the agent\'s replies at step 4: "sorry, refunded." (distinct-2 0.14)',
        // distinct-2: one bigram ("sorry, refunded.") over the 7 bigrams of the repeated reply.
        values: { share: 0.7, replies: 10, distinct2: 1 / 7 },
      },
    ]);
    // Half and half is not more than half; too few replies are not judged.
    expect(
      detectDegeneratePolicy([
        snapshot(1, { agentReplies: ['x', 'x', 'x', 'x', 'a', 'b', 'c', 'd'] }),
      ]),
    ).toEqual([]);
    expect(detectDegeneratePolicy([snapshot(1, { agentReplies: ['x', 'x', 'x'] })])).toEqual([]);
  });

  it('flags tool calls dropped and success falling while reward rises, from the first and last thirds', () => {
    // Six snapshots: thirds of two. Tools 2,2 -> 0.5,0.5 (0.25 of before); reward 0.1,0.2 -> 0.6,0.7; success 0.5,0.3 -> 0.1,0.
    const history = [
      snapshot(0, { toolCallsPerEpisode: 2, meanReward: 0.1, successRate: 0.5 }),
      snapshot(1, { toolCallsPerEpisode: 2, meanReward: 0.2, successRate: 0.3 }),
      snapshot(2, { toolCallsPerEpisode: 1, meanReward: 0.4, successRate: 0.2 }),
      snapshot(3, { toolCallsPerEpisode: 1, meanReward: 0.5, successRate: 0.2 }),
      snapshot(4, { toolCallsPerEpisode: 0.5, meanReward: 0.6, successRate: 0.1 }),
      snapshot(5, { toolCallsPerEpisode: 0.5, meanReward: 0.7, successRate: 0 }),
    ];
    const flags = detectDegeneratePolicy(history);
    expect(flags.map((flag) => flag.kind)).toEqual([
      'tool-calls-dropped',
      'success-falling-reward-rising',
    ]);
    expect(flags[0]!.values).toEqual({ before: 2, after: 0.5 });
    expect(flags[1]!.values.rewardRise).toBeCloseTo(0.5, 12);
    expect(flags[1]!.values.successDrop).toBeCloseTo(0.35, 12);
    // A healthy run: reward and success rise together, tools stay.
    const healthy = history.map((item, index) => ({
      ...item,
      toolCallsPerEpisode: 2,
      successRate: index / 10,
    }));
    expect(detectDegeneratePolicy(healthy)).toEqual([]);
    // Without a success check, only the tool check can fire.
    expect(
      detectDegeneratePolicy(history.map((item) => ({ ...item, successRate: null }))).map(
        (f) => f.kind,
      ),
    ).toEqual(['tool-calls-dropped']);
  });
});

describe('policySnapshot and toolCallMetrics', () => {
  const base = {
    id: 't',
    scenarioId: 's',
    seed: 1,
    policyVersion: 0,
    turns: [],
    tokenIds: [],
    lossMask: [],
    behaviorLogProbs: [],
    rewardsPerTurn: [],
    rewardsByFunction: {},
    truncated: false,
    temperature: 1,
  } satisfies Partial<Trajectory>;
  const trajectories: Trajectory[] = [
    {
      ...base,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'call' },
        { role: 'tool', content: '{}' },
        { role: 'assistant', content: 'done' },
      ],
      totalReward: 1,
      endReason: 'success',
      toolCalls: [
        { turnIndex: 0, name: 'get_order', arguments: {}, result: {}, durationMs: 1 },
        {
          turnIndex: 0,
          name: '<tool_call>{',
          arguments: {},
          error: { kind: 'malformed', message: 'x' },
          durationMs: 0,
        },
        {
          turnIndex: 0,
          name: 'refund',
          arguments: {},
          error: { kind: 'timeout', message: 'y' },
          durationMs: 50,
        },
      ],
    },
    {
      ...base,
      messages: [{ role: 'assistant', content: 'no tools' }],
      totalReward: 0,
      endReason: 'give-up',
    },
  ];

  it('summarize a batch by hand-countable numbers', () => {
    expect(policySnapshot(3, trajectories)).toEqual({
      step: 3,
      meanReward: 0.5,
      successRate: 0.5,
      toolCallsPerEpisode: 1.5,
      agentReplies: ['call', 'done', 'no tools'],
      // Neither episode has 3 agent replies.
      repeatingEpisodes: { share: 0, episodes: 0 },
    });
    const metrics = toolCallMetrics(trajectories);
    expect(metrics).toEqual({
      episodes: 2,
      calls: 3,
      callsPerEpisode: 1.5,
      episodesWithCalls: 0.5,
      errorRate: 2 / 3,
      errorsByKind: {
        malformed: 1,
        'unknown-tool': 0,
        'invalid-arguments': 0,
        'tool-error': 0,
        timeout: 1,
      },
      callsByTool: { get_order: 1, '(malformed)': 1, refund: 1 },
    });
    expect(toolCallMetrics([]).callsPerEpisode).toBe(0);
    // Episodes that repeat one reply in most of their turns (case and spacing ignored), each a different reply.
    const episode = (replies: string[]): Trajectory => ({
      ...base,
      messages: replies.flatMap((content) => [
        { role: 'user' as const, content: 'and?' },
        { role: 'assistant' as const, content },
      ]),
      totalReward: 0,
      endReason: 'give-up',
    });
    const repeating = [
      episode(['UPS', 'ups', 'UPS ', 'ok']),
      episode(['Refunded.', 'refunded.', 'Refunded.']),
      episode(['A1', 'A1', 'x', 'y']),
      episode(['one', 'two', 'three']),
      episode(['short', 'short']),
    ];
    const snapshot = policySnapshot(7, repeating);
    // Of the 4 episodes with 3+ replies, 2 repeat one reply in more than half of their turns (A1 is half, not more).
    expect(snapshot.repeatingEpisodes).toEqual({ share: 0.5, episodes: 4 });
    // Over all 16 replies no reply is more than half: the step-wide check sees nothing.
    expect(detectDegeneratePolicy([snapshot]).map((flag) => flag.kind)).toEqual([]);
    const worse = policySnapshot(8, [...repeating, episode(['same', 'same', 'same'])]);
    expect(worse.repeatingEpisodes).toEqual({ share: 3 / 5, episodes: 5 });
    expect(detectDegeneratePolicy([worse])).toEqual([
      {
        kind: 'repeated-within-episode',
        message:
          '60% of the 5 episodes of step 8 with 3 or more agent replies repeat one reply in most of their turns',
        values: { share: 0.6, episodes: 5 },
      },
    ]);
    // Too few long episodes are not judged.
    expect(
      detectDegeneratePolicy([worse], { minRepeatingEpisodes: 6 }).map((flag) => flag.kind),
    ).toEqual([]);
    expect(() => policySnapshot(0, [])).toThrow(/trajectories/);
  });
});
