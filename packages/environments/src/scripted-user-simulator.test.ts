import { type Message, Random, type Scenario, ScenarioSchema, ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { ScriptedUserSimulator, scriptedProgress } from './scripted-user-simulator';

const scenario: Scenario = ScenarioSchema.parse({
  id: 'sim',
  category: 'refunds',
  persona: 'p',
  goal: 'g',
  successCriteria: [
    { id: 'refund', description: 'refund', anyOf: ['refund'] },
    { id: 'days', description: 'days', anyOf: ['5 business days'] },
  ],
  maxTurns: 6,
  user: {
    opening: 'My order is broken.',
    followUps: ['Hello?', 'Can I get my money back?', 'Please help.'],
    thanks: 'Thanks!',
    giveUp: 'Bye.',
    patience: 2,
  },
});

function conversation(...agent: string[]): Message[] {
  const messages: Message[] = [{ role: 'user', content: 'My order is broken.' }];
  for (const text of agent)
    messages.push({ role: 'assistant', content: text }, { role: 'user', content: '...' });
  return messages.slice(0, -1);
}

describe('ScriptedUserSimulator', () => {
  const simulator = new ScriptedUserSimulator();

  it('opens with the scenario opening', async () => {
    const reply = await simulator.respond({ scenario, messages: [], random: new Random(1) });
    expect(reply).toEqual({ message: 'My order is broken.', done: false });
  });

  it('picks a follow-up with the given random stream when there is no progress', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const reply = await simulator.respond({
        scenario,
        messages: conversation('Hmm.'),
        random: new Random(seed),
      });
      expect(reply.message).toBe(new Random(seed).choice(scenario.user.followUps));
      expect(reply.done).toBe(false);
    }
  });

  it('acknowledges progress', async () => {
    const random = new Random(9);
    const reply = await simulator.respond({
      scenario,
      messages: conversation('I will refund it.'),
      random,
    });
    const expected = new Random(9);
    const acknowledgement = expected.choice(simulator.options.acknowledgements);
    const continuation = expected.choice(simulator.options.continuations);
    expect(reply.message).toBe(`${acknowledgement} ${continuation}`);
  });

  it('thanks when every criterion is met', async () => {
    const reply = await simulator.respond({
      scenario,
      messages: conversation('Refund issued.', 'It takes 5 business days.'),
      random: new Random(1),
    });
    expect(reply).toEqual({ message: 'Thanks!', done: true, endReason: 'success' });
  });

  it('gives up after `patience` turns without progress, counting from the last progress', async () => {
    const notYet = await simulator.respond({
      scenario,
      messages: conversation('Hmm.', 'A refund then.', 'Hmm.'),
      random: new Random(1),
    });
    expect(notYet.done).toBe(false);
    const reply = await simulator.respond({
      scenario,
      messages: conversation('Hmm.', 'A refund then.', 'Hmm.', 'Sorry, what?'),
      random: new Random(1),
    });
    expect(reply).toEqual({ message: 'Bye.', done: true, endReason: 'give-up' });
  });

  it('measures progress turn by turn', () => {
    const progress = scriptedProgress(scenario, ['x', 'refund', 'refund again', 'y']);
    expect(progress).toMatchObject({
      agentTurns: 4,
      lastTurnProgressed: false,
      turnsWithoutProgress: 2,
    });
    expect(scriptedProgress(scenario, ['refund']).lastTurnProgressed).toBe(true);
  });

  it('falls back to generic follow-ups when the scenario has none', async () => {
    const bare = ScenarioSchema.parse({ ...scenario, user: { ...scenario.user, followUps: [] } });
    const reply = await simulator.respond({
      scenario: bare,
      messages: conversation('Hmm.'),
      random: new Random(3),
    });
    expect(simulator.options.fallbackFollowUps).toContain(reply.message);
  });

  it('validates its options', () => {
    expect(() => new ScriptedUserSimulator({ acknowledgements: [] })).toThrow(ValidationError);
  });
});
