import {
  InvalidArgumentError,
  type Scenario,
  type ScenarioInput,
  ScenarioSchema,
  type UserReply,
  type UserSimulator,
  type UserSimulatorInput,
  ValidationError,
} from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { createConversationEnvironment } from './conversation-environment';
import { EpisodeDoneError } from './episode-done-error';

const input: ScenarioInput = {
  id: 'env-test',
  category: 'refunds',
  persona: 'p',
  goal: 'g',
  context: 'Order A1042, refunds take 5 business days.',
  successCriteria: [
    { id: 'refund', description: 'refund', anyOf: ['refund'], weight: 2 },
    { id: 'order', description: 'order', anyOf: ['A1042'] },
    { id: 'days', description: 'days', anyOf: ['5 business days'] },
  ],
  maxTurns: 4,
  user: {
    opening: 'My order A1042 is broken.',
    followUps: ['Hello?', 'Can I get my money back?', 'Please help.', 'Anyone?'],
    thanks: 'Thanks!',
    giveUp: 'Bye.',
    patience: 3,
  },
};
const scenario: Scenario = ScenarioSchema.parse(input);

describe('ConversationEnvironment', () => {
  it('starts with the system prompt (with context) and the opening', async () => {
    const environment = createConversationEnvironment({ systemPrompt: 'Be nice.' });
    const episode = await environment.reset({ scenario, seed: 1 });
    expect(episode.messages).toEqual([
      {
        role: 'system',
        content: 'Be nice.\n\nContext: Order A1042, refunds take 5 business days.',
      },
      { role: 'user', content: 'My order A1042 is broken.' },
    ]);
    const override = await environment.reset({ scenario, seed: 1, systemPrompt: 'Other.' });
    expect(override.messages[0]!.content.startsWith('Other.')).toBe(true);
    const bare = await createConversationEnvironment({ includeContext: false }).reset({
      scenario,
      seed: 1,
    });
    expect(bare.messages[0]!.content).not.toContain('Context');
  });

  it('ends with success when every criterion is met, with the thanks as closing line', async () => {
    const episode = await createConversationEnvironment().reset({ scenario, seed: 1 });
    const first = await episode.step('I found A1042.');
    expect(first.done).toBe(false);
    expect(first.userMessage).toBeDefined();
    expect(episode.messages.at(-1)).toEqual({ role: 'user', content: first.userMessage });
    const last = await episode.step('A refund arrives within 5 business days.');
    expect(last).toMatchObject({
      done: true,
      endReason: 'success',
      info: { closingMessage: 'Thanks!' },
    });
    expect(last.userMessage).toBeUndefined();
    expect(episode.done).toBe(true);
    expect(episode.completion).toBe(1);
    expect(episode.messages.at(-1)!.role).toBe('assistant');
  });

  it('ends with give-up after `patience` turns without progress', async () => {
    const episode = await createConversationEnvironment().reset({ scenario, seed: 2 });
    expect((await episode.step('Hmm.')).done).toBe(false);
    expect((await episode.step('Hmm.')).done).toBe(false);
    const result = await episode.step('Hmm.');
    expect(result).toMatchObject({
      done: true,
      endReason: 'give-up',
      info: { closingMessage: 'Bye.' },
    });
  });

  it('ends at the turn limit when the agent progresses too slowly', async () => {
    const slow = ScenarioSchema.parse({ ...input, maxTurns: 2 });
    const episode = await createConversationEnvironment().reset({ scenario: slow, seed: 3 });
    await episode.step('A refund it is.');
    const result = await episode.step('Order A1042.');
    expect(result).toMatchObject({ done: true, endReason: 'turn-limit' });
    expect(result.info?.closingMessage).toBeUndefined();
  });

  it('prefers give-up over the turn limit when both fall on the same turn', async () => {
    const tight = ScenarioSchema.parse({
      ...input,
      maxTurns: 2,
      user: { ...input.user, patience: 2 },
    });
    const episode = await createConversationEnvironment().reset({ scenario: tight, seed: 3 });
    await episode.step('x');
    expect((await episode.step('y')).endReason).toBe('give-up');
  });

  it('throws a clear error on step after done', async () => {
    const episode = await createConversationEnvironment().reset({ scenario, seed: 1 });
    await episode.step('Refund for A1042 within 5 business days.');
    await expect(episode.step('more')).rejects.toThrow(EpisodeDoneError);
    await expect(episode.step('more')).rejects.toThrow(/finished conversation episode .*success/);
  });

  it('is deterministic for a seed and varies across seeds', async () => {
    const environment = createConversationEnvironment();
    const run = async (seed: number) => {
      const episode = await environment.reset({ scenario, seed });
      const replies: (string | undefined)[] = [];
      for (const text of ['a', 'b']) replies.push((await episode.step(text)).userMessage);
      return replies.join('|');
    };
    expect(await run(11)).toBe(await run(11));
    const distinct = new Set(await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(run)));
    expect(distinct.size).toBeGreaterThan(1);
  });

  it('gives criteria-progress turn rewards that sum to the goal completion', async () => {
    const environment = createConversationEnvironment({ turnReward: 'criteria-progress' });
    const episode = await environment.reset({ scenario, seed: 1 });
    // weights: refund 2, order 1, days 1 (total 4)
    const rewards = [
      (await episode.step('A refund.')).reward,
      (await episode.step('A refund again.')).reward,
      (await episode.step('Order A1042, 5 business days.')).reward,
    ];
    expect(rewards).toEqual([0.5, 0, 0.5]);
    const plain = await createConversationEnvironment().reset({ scenario, seed: 1 });
    expect((await plain.step('A refund.')).reward).toBe(0);
  });

  it('validates the scenario, naming the bad field', async () => {
    const environment = createConversationEnvironment();
    const missing = { ...input, maxTurns: undefined } as unknown as Scenario;
    await expect(environment.reset({ scenario: missing, seed: 1 })).rejects.toThrow(
      ValidationError,
    );
    await expect(environment.reset({ scenario: missing, seed: 1 })).rejects.toThrow(/maxTurns/);
    const badCriterion = {
      ...input,
      successCriteria: [{ id: 'x', description: 'x' }],
    } as unknown as Scenario;
    await expect(environment.reset({ scenario: badCriterion, seed: 1 })).rejects.toThrow(
      /successCriteria\.0/,
    );
    const badPattern = {
      ...input,
      successCriteria: [{ id: 'x', description: 'x', pattern: '[' }],
    } as unknown as Scenario;
    await expect(environment.reset({ scenario: badPattern, seed: 1 })).rejects.toThrow(
      /successCriteria\[0\]\.pattern/,
    );
    await expect(environment.reset({ scenario, seed: Number.NaN })).rejects.toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      createConversationEnvironment({ userSimulator: {} as UserSimulator<Scenario> }),
    ).toThrow(/userSimulator/);
  });

  it('hides the system prompt from the user simulator and honours its end reason', async () => {
    const seen: number[] = [];
    class CountingSimulator implements UserSimulator<Scenario> {
      readonly name = 'counting';
      async respond({ messages }: UserSimulatorInput<Scenario>): Promise<UserReply> {
        if (messages.some((message) => message.role === 'system'))
          throw new Error('saw the system prompt');
        seen.push(messages.length);
        return messages.length >= 3
          ? { message: 'I am done.', done: true, endReason: 'give-up' }
          : { message: `turn ${messages.length}`, done: false };
      }
    }
    const environment = createConversationEnvironment({ userSimulator: new CountingSimulator() });
    const episode = await environment.reset({ scenario, seed: 1 });
    expect(episode.messages[1]!.content).toBe('turn 0');
    expect((await episode.step('x')).userMessage).toBe('turn 2');
    expect((await episode.step('y')).endReason).toBe('give-up');
    expect(seen).toEqual([0, 2, 4]);
  });

  it('ends with error and rethrows when the simulator fails', async () => {
    let calls = 0;
    const failing: UserSimulator<Scenario> = {
      name: 'failing',
      async respond() {
        calls += 1;
        if (calls > 1) throw new Error('simulator down');
        return { message: 'hi', done: false };
      },
    };
    const episode = await createConversationEnvironment({ userSimulator: failing }).reset({
      scenario,
      seed: 1,
    });
    await expect(episode.step('x')).rejects.toThrow('simulator down');
    expect(episode.endReason).toBe('error');
  });
});
