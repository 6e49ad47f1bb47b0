import { InvalidArgumentError, ScenarioSchema } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { createConversationEnvironment } from './conversation-environment';
import { generateDialogues, referenceAgentReply } from './reference-agent';
import { getScenarioSet, scenarioSets } from './scenario-sets';
import { evaluateSuccessCriteria } from './success-criteria';
import { supportCategories, supportReferenceLines, supportScenarios } from './support-scenarios';

const all = supportScenarios();

describe('supportScenarios', () => {
  it('has 18 train and 6 eval scenarios per category, all valid', () => {
    expect(all).toHaveLength(96);
    for (const category of supportCategories) {
      expect(supportScenarios({ split: 'train', categories: [category] })).toHaveLength(18);
      expect(supportScenarios({ split: 'eval', categories: [category] })).toHaveLength(6);
    }
    for (const scenario of all) expect(ScenarioSchema.parse(scenario)).toEqual(scenario);
  });

  it('has unique ids and disjoint splits', () => {
    const ids = all.map((scenario) => scenario.id);
    expect(new Set(ids).size).toBe(ids.length);
    const train = supportScenarios({ split: 'train' });
    const heldOut = supportScenarios({ split: 'eval' });
    const trainIds = new Set(train.map((scenario) => scenario.id));
    expect(heldOut.some((scenario) => trainIds.has(scenario.id))).toBe(false);
    const trainText = train.map(
      (scenario) => `${scenario.goal} ${scenario.context} ${scenario.user.opening}`,
    );
    for (const scenario of heldOut) {
      expect(trainText).not.toContain(
        `${scenario.goal} ${scenario.context} ${scenario.user.opening}`,
      );
    }
    const evalOrderIds = heldOut.flatMap((scenario) => scenario.context.match(/A\d{4}/g) ?? []);
    for (const orderId of evalOrderIds) expect(trainText.join(' ')).not.toContain(orderId);
    // Held-out scenarios are about items that never occur in train.
    for (const item of [
      'air fryer',
      'hiking boots',
      'smart watch',
      'toaster',
      'smart doorbell',
      'projector',
    ]) {
      expect(trainText.join(' ')).not.toContain(item);
      expect(
        heldOut.some((scenario) => scenario.goal.includes(item) || scenario.context.includes(item)),
      ).toBe(true);
    }
  });

  it('is the same on every call, as fresh copies', () => {
    const again = supportScenarios();
    expect(again).toEqual(all);
    again[0]!.goal = 'changed';
    expect(supportScenarios()[0]!.goal).not.toBe('changed');
  });

  it('has a reference line for every built-in criterion', () => {
    for (const scenario of all) {
      for (const criterion of scenario.successCriteria)
        expect(supportReferenceLines[criterion.id]).toBeDefined();
    }
  });

  it('rejects unknown categories and splits', () => {
    expect(() => supportScenarios({ categories: ['billing' as 'refunds'] })).toThrow(
      InvalidArgumentError,
    );
    expect(() => supportScenarios({ split: 'test' as 'eval' })).toThrow(/split/);
  });

  it('is registered as a scenario set', () => {
    expect(scenarioSets['customer-support']!.load({ split: 'eval' })).toHaveLength(24);
    expect(getScenarioSet('customer-support').categories).toEqual(supportCategories);
    expect(() => getScenarioSet('nope')).toThrow(/known sets: customer-support/);
  });
});

describe('reference and bad agents on every built-in scenario', () => {
  const environment = createConversationEnvironment();

  it('the reference agent succeeds on all of them, one criterion per turn or all at once', async () => {
    for (const criteriaPerTurn of [1, undefined]) {
      for (const [index, scenario] of all.entries()) {
        const episode = await environment.reset({ scenario, seed: index });
        while (!episode.done) {
          await episode.step(referenceAgentReply(scenario, episode.messages, { criteriaPerTurn }));
        }
        expect(episode.endReason, scenario.id).toBe('success');
      }
    }
  });

  it('a bad agent fails on all of them and meets no criterion', async () => {
    const badReplies = [
      'I am not able to help with that.',
      'Please try again later.',
      'Hmm, let me see.',
    ];
    for (const [index, scenario] of all.entries()) {
      const episode = await environment.reset({ scenario, seed: index });
      let turn = 0;
      while (!episode.done) await episode.step(badReplies[turn++ % badReplies.length]!);
      expect(episode.endReason, scenario.id).toBe('give-up');
      expect(episode.completion).toBe(0);
    }
  });

  it('an agent that only apologizes and names the order gets partial completion', async () => {
    const scenario = supportScenarios({ split: 'eval', categories: ['refunds'] })[0]!;
    const orderId = /A\d{4}/.exec(scenario.context)![0];
    const result = evaluateSuccessCriteria(scenario, [`Sorry about order ${orderId}.`]);
    expect(result.completion).toBeGreaterThan(0);
    expect(result.allMet).toBe(false);
  });
});

describe('referenceAgentReply', () => {
  const scenario = supportScenarios({ split: 'train', categories: ['account'] })[0]!;

  it('greets first and addresses unmet criteria in order', () => {
    const first = referenceAgentReply(
      scenario,
      [{ role: 'user', content: scenario.user.opening }],
      {
        criteriaPerTurn: 1,
      },
    );
    expect(first.startsWith('Hello')).toBe(true);
    expect(evaluateSuccessCriteria(scenario, [first]).metIds).toContain(
      scenario.successCriteria[0]!.id,
    );
    const second = referenceAgentReply(
      scenario,
      [
        { role: 'user', content: scenario.user.opening },
        { role: 'assistant', content: first },
      ],
      { criteriaPerTurn: 1 },
    );
    expect(evaluateSuccessCriteria(scenario, [first, second]).metIds.length).toBeGreaterThan(
      evaluateSuccessCriteria(scenario, [first]).metIds.length,
    );
  });

  it('uses custom lines for custom criteria', () => {
    const custom = ScenarioSchema.parse({
      ...scenario,
      successCriteria: [{ id: 'code', description: 'a code', pattern: 'code \\d{3}' }],
    });
    const reply = referenceAgentReply(custom, [], { lines: { code: 'Use code 123.' } });
    expect(evaluateSuccessCriteria(custom, [reply]).allMet).toBe(true);
  });

  it('rejects a bad criteriaPerTurn', () => {
    expect(() => referenceAgentReply(scenario, [], { criteriaPerTurn: 0 })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('generateDialogues', () => {
  const scenarios = supportScenarios({ split: 'train' });

  it('makes well-formed dialogues, deterministic for a seed', async () => {
    const dialogues = await generateDialogues({ scenarios, seed: 5, count: 100 });
    expect(dialogues).toHaveLength(100);
    for (const dialogue of dialogues) {
      expect(dialogue[0]!.role).toBe('system');
      dialogue.slice(1).forEach((message, index) => {
        expect(message.role).toBe(index % 2 === 0 ? 'user' : 'assistant');
      });
      expect(dialogue.at(-1)!.role).toBe('assistant');
    }
    expect(await generateDialogues({ scenarios, seed: 5, count: 100 })).toEqual(dialogues);
    expect(await generateDialogues({ scenarios, seed: 6, count: 100 })).not.toEqual(dialogues);
    // A random number of criteria per turn gives both short and multi-turn dialogues.
    const lengths = new Set(dialogues.map((dialogue) => dialogue.length));
    expect(lengths.size).toBeGreaterThan(2);
  });

  it('covers every scenario once per pass', async () => {
    const dialogues = await generateDialogues({ scenarios, seed: 1, criteriaPerTurn: 1 });
    const openings = dialogues.map((dialogue) => dialogue[1]!.content).sort();
    expect(openings).toEqual(scenarios.map((scenario) => scenario.user.opening).sort());
  });

  it('validates its arguments', async () => {
    await expect(generateDialogues({ scenarios: [], seed: 1 })).rejects.toThrow(/scenarios/);
    await expect(generateDialogues({ scenarios, seed: 1, count: -1 })).rejects.toThrow(/count/);
    await expect(generateDialogues({ scenarios, seed: 1, criteriaPerTurn: 0 })).rejects.toThrow(
      /criteriaPerTurn/,
    );
  });
});
