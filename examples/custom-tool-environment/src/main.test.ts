import { formatToolCalls } from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import { createCurrencyDeskEnvironment, expectedAnswer } from './currency-desk-environment';
import { main, questions, toolAgent } from './main';

describe('examples/custom-tool-environment', () => {
  it('the tool agent answers every question; guessing and a random policy do not', async () => {
    const result = await main({ log: () => {} });
    expect(result.toolAgent).toBe(1);
    expect(result.guessingAgent).toBe(0);
    expect(result.randomPolicy.successRate).toBe(0);
    expect(result.randomPolicy.toolCalls.episodes).toBe(16);
  });

  it('checks the answer by code and turns bad calls into messages to the agent', async () => {
    // 120 CHF in JPY = 120 * 162.37 / 0.9412, computed by hand: 19484.4 / 0.9412 = 20701.66.
    expect(expectedAnswer({ id: 'x', amount: 120, from: 'CHF', to: 'JPY' })).toBe('20701.66');
    const episode = await createCurrencyDeskEnvironment().reset({
      scenario: questions[0]!,
      seed: 0,
    });
    const bad = await episode.step(
      formatToolCalls([{ name: 'exchange_rate', arguments: { from: 'CHF', to: 'XYZ' } }], 'hermes'),
    );
    expect(bad.toolCalls![0]!.error?.kind).toBe('invalid-arguments');
    expect(JSON.parse(bad.toolMessages![0]!.content).error).toMatch(/^invalid-arguments: to: /);
    const good = await episode.step(toolAgent(episode.messages.slice(0, 2)));
    expect(good.toolMessages).toHaveLength(1);
    const answer = await episode.step(toolAgent(episode.messages));
    expect(answer).toMatchObject({ done: true, endReason: 'success', reward: 1 });
  });
});
