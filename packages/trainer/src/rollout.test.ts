import {
  type Environment,
  type Message,
  parseWithSchema,
  type Scenario,
  ScenarioSchema,
  TrajectorySchema,
} from '@cohort/core';
import { MockPolicy, MockTokenizer } from '@cohort/core/test';
import { describe, expect, it } from 'vitest';
import { rolloutGroups } from './rollout';

const scenario: Scenario = parseWithSchema(
  ScenarioSchema,
  {
    id: 'echo',
    category: 'test',
    persona: 'tester',
    goal: 'hear an x',
    successCriteria: [{ id: 'x', description: 'says x', anyOf: ['x'] }],
    maxTurns: 3,
    user: { opening: 'hello' },
  },
  'scenario',
);

/** Ends with success when the agent says "x", else asks again until the turn limit. */
const environment: Environment<Scenario> = {
  name: 'echo',
  async reset({ scenario, systemPrompt }) {
    const messages: Message[] = [
      { role: 'system', content: systemPrompt ?? 'sys' },
      { role: 'user', content: scenario.user.opening },
    ];
    let turns = 0;
    return {
      messages,
      async step(agentMessage) {
        turns++;
        messages.push({ role: 'assistant', content: agentMessage });
        if (agentMessage.includes('x')) return { reward: 0.5, done: true, endReason: 'success' };
        if (turns >= scenario.maxTurns) return { reward: 0, done: true, endReason: 'turn-limit' };
        messages.push({ role: 'user', content: `again ${turns}` });
        return { reward: 0, done: false, userMessage: `again ${turns}` };
      },
    };
  },
};

describe('rolloutGroups', () => {
  const tokenizer = new MockTokenizer();
  const xId = tokenizer.encode('x')[0]!;
  const yId = tokenizer.encode('y')[0]!;
  const logits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    id === xId ? 0 : id === yId ? 1.5 : id === tokenizer.endOfTurnTokenId ? 0.5 : -30,
  );

  it('keeps sampled ids exactly, aligns masks and log-probs, and scores rewards', async () => {
    const policy = new MockPolicy({ logits, tokenizer });
    const result = await rolloutGroups({
      policy,
      environment,
      scenarios: [scenario, scenario],
      groupSize: 3,
      seed: 1,
      generation: { maxNewTokens: 4, temperature: 1, stopTokenIds: [tokenizer.endOfTurnTokenId] },
      rewards: [
        {
          reward: { name: 'said-x', score: ({ completion }) => (completion.includes('x') ? 1 : 0) },
          weight: 2,
        },
        {
          reward: {
            name: 'broken',
            score: () => {
              throw new Error('boom');
            },
          },
          weight: 1,
        },
      ],
      maxSequenceLength: 512,
      label: 'step0',
    });
    expect(result.groups).toHaveLength(2);
    expect(result.rewardFailures.filter((failure) => failure.rewardName === 'broken')).toHaveLength(
      6,
    );
    for (const group of result.groups) {
      for (const trajectory of group.trajectories) {
        parseWithSchema(TrajectorySchema, JSON.parse(JSON.stringify(trajectory)), 'trajectory');
        const agentTurns = trajectory.turns.filter((turn) => turn.role === 'assistant');
        expect(agentTurns).toHaveLength(trajectory.rewardsPerTurn.length);
        // The masked tokens are exactly the sampled ones, in order, and their log-probs are the sampler's.
        const logProbabilities = policy.logProbabilities(1);
        for (let index = 0; index < trajectory.tokenIds.length; index++) {
          const id = trajectory.tokenIds[index]!;
          if (trajectory.lossMask[index] === 1) {
            expect(trajectory.behaviorLogProbs[index]).toBeCloseTo(logProbabilities[id]!, 10);
          } else {
            expect(trajectory.behaviorLogProbs[index]).toBe(0);
          }
        }
        const success = trajectory.endReason === 'success';
        expect(trajectory.rewardsByFunction['said-x']).toBe(success ? 1 : 0);
        expect(trajectory.rewardsByFunction.broken).toBeNull();
        expect(trajectory.totalReward).toBeCloseTo(success ? 0.5 + 2 : 0, 10);
        // The whole sequence decodes to the conversation the environment saw.
        const rendered = tokenizer.decode(
          tokenizer.applyChatTemplate(trajectory.messages, { addGenerationPrompt: false }),
        );
        const kept = tokenizer.decode(trajectory.tokenIds);
        expect(kept.replace(/<\|im_end\|>\n$/, '')).toBe(rendered.replace(/<\|im_end\|>\n$/, ''));
      }
    }
    const reasons = result.groups.flatMap((group) => group.trajectories.map((t) => t.endReason));
    expect(reasons).toContain('success');
  });

  it('is reproducible for a seed and ends episodes that would overflow the context', async () => {
    const run = (maxSequenceLength: number) =>
      rolloutGroups({
        policy: new MockPolicy({ logits, tokenizer }),
        environment,
        scenarios: [scenario],
        groupSize: 4,
        seed: 9,
        generation: { maxNewTokens: 4, stopTokenIds: [tokenizer.endOfTurnTokenId] },
        rewards: [],
        maxSequenceLength,
        label: 's',
      });
    const first = await run(512);
    const second = await run(512);
    expect(first.groups).toEqual(second.groups);
    // The opening prompt is 37 tokens: one agent turn of up to 4 tokens fits in 45, a second does not.
    const short = await run(45);
    for (const trajectory of short.groups[0]!.trajectories) {
      expect(trajectory.tokenIds.length).toBeLessThanOrEqual(45);
      expect(trajectory.rewardsPerTurn).toHaveLength(1);
      if (trajectory.endReason !== 'success') {
        expect(trajectory.endReason).toBe('length');
        // Its one agent turn ended by itself; the conversation, not the turn, ran out of room.
        expect(trajectory.truncated).toBe(trajectory.turns.at(-1)?.finishReason === 'length');
      }
    }
  });

  it("asks an episode reward for a group's G episodes at once, and keeps each answer with its episode", async () => {
    // A reward that answers only when the whole group has asked, as a person rating G replies side
    // by side does: scored one episode after another, it would never answer.
    const asked: { completion: string; resolve: (value: number) => void }[] = [];
    const groupReward = {
      name: 'group',
      score: ({ completion }: { completion: string }) =>
        new Promise<number>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error('the group was never asked in full')),
            2000,
          );
          asked.push({
            completion,
            resolve: (value) => {
              clearTimeout(timer);
              resolve(value);
            },
          });
          if (asked.length % 3 === 0) {
            const groupNumber = asked.length / 3;
            for (const [index, entry] of asked.slice(-3).entries()) {
              entry.resolve(10 * groupNumber + index);
            }
          }
        }),
    };
    const result = await rolloutGroups({
      policy: new MockPolicy({ logits, tokenizer }),
      environment,
      scenarios: [scenario, scenario],
      groupSize: 3,
      seed: 3,
      generation: { maxNewTokens: 4, temperature: 1, stopTokenIds: [tokenizer.endOfTurnTokenId] },
      rewards: [{ reward: groupReward, weight: 1 }],
      maxSequenceLength: 512,
      label: 'g',
    });
    expect(result.rewardFailures).toEqual([]);
    expect(asked).toHaveLength(6);
    result.groups.forEach((group, groupIndex) => {
      group.trajectories.forEach((trajectory, index) => {
        // Group g (from 1) answers 10 g + i to its i-th episode.
        expect(trajectory.rewardsByFunction.group).toBe(10 * (groupIndex + 1) + index);
        expect(asked[3 * groupIndex + index]!.completion).toBe(
          trajectory.messages.filter((message) => message.role === 'assistant').at(-1)!.content,
        );
      });
    });
  });
});
