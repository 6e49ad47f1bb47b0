import {
  InvalidArgumentError,
  type Message,
  type RewardContext,
  ValidationError,
} from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { formatReward } from './format-reward';
import { keywordReward } from './keyword-reward';
import { regexReward } from './regex-reward';

function turn(completion: string, extra: Partial<RewardContext> = {}): RewardContext {
  return {
    scenario: null,
    messages: [{ role: 'user', content: 'hi' }],
    completion,
    turnIndex: 0,
    done: true,
    completionTokenCount: 5,
    ...extra,
  };
}

describe('keywordReward', () => {
  it('is the fraction of required keywords minus a penalty per forbidden keyword', () => {
    const reward = keywordReward({
      required: ['refund', 'order'],
      forbidden: ['cannot', 'unfortunately'],
    });
    expect(reward.score(turn('I cannot refund it.'))).toBeCloseTo(0.5 - 1, 12);
    expect(reward.score(turn('Your ORDER has a Refund.'))).toBe(1);
    expect(reward.score(turn('Unfortunately I cannot.'))).toBe(-2);
    expect(reward.score(turn('Hello.'))).toBe(0);
  });

  it('counts 1 for the required part when only forbidden keywords are given', () => {
    const reward = keywordReward({ forbidden: ['sorry'], forbiddenPenalty: 0.25 });
    expect(reward.score(turn('Done.'))).toBe(1);
    expect(reward.score(turn('Sorry, sorry.'))).toBe(0.75);
  });

  it('matches whole words and case when asked', () => {
    expect(keywordReward({ required: ['refund'] }).score(turn('refunded'))).toBe(1);
    expect(keywordReward({ required: ['refund'], wholeWord: true }).score(turn('refunded'))).toBe(
      0,
    );
    expect(keywordReward({ required: ['refund'], wholeWord: true }).score(turn('a refund.'))).toBe(
      1,
    );
    expect(keywordReward({ required: ['Refund'], caseSensitive: true }).score(turn('refund'))).toBe(
      0,
    );
    expect(keywordReward({ required: ['a.b'] }).score(turn('axb'))).toBe(0);
  });

  it('can read every agent message', () => {
    const messages: Message[] = [
      { role: 'assistant', content: 'Your order is found.' },
      { role: 'user', content: 'And?' },
      { role: 'assistant', content: 'Refund issued.' },
    ];
    const reward = keywordReward({ required: ['order', 'refund'], target: 'agent-messages' });
    expect(reward.score(turn('Refund issued.', { messages }))).toBe(1);
    expect(
      keywordReward({ required: ['order', 'refund'] }).score(turn('Refund issued.', { messages })),
    ).toBe(0.5);
  });

  it('needs some keyword', () => {
    expect(() => keywordReward({})).toThrow(ValidationError);
  });
});

describe('regexReward', () => {
  it('gives reward on a match and penalty otherwise', () => {
    const reward = regexReward({ pattern: '\\bA\\d{4}\\b', reward: 1, penalty: -0.5 });
    expect(reward.score(turn('Order A1042 found.'))).toBe(1);
    expect(reward.score(turn('Order A10423 found.'))).toBe(-0.5);
  });

  it('does not keep state between calls with a global RegExp', () => {
    const reward = regexReward({ pattern: /refund/gi });
    expect([1, 2, 3].map(() => reward.score(turn('Refund!')))).toEqual([1, 1, 1]);
  });

  it('rejects an invalid pattern, naming it', () => {
    expect(() => regexReward({ pattern: '(' })).toThrow(InvalidArgumentError);
    expect(() => regexReward({ pattern: '(' })).toThrow(/pattern = "\("/);
    expect(() => regexReward({ pattern: 'a', flags: 'g' })).toThrow(/flags/);
  });
});

describe('formatReward', () => {
  const reward = formatReward();

  it('passes a clean sentence', () => {
    expect(reward.score(turn('I have issued the refund.'))).toBe(1);
    expect(reward.score(turn('Is that all? (Yes.)'))).toBe(1);
  });

  it('scores the fraction of the five default checks passed', () => {
    expect(reward.score(turn('I have issued the refund'))).toBeCloseTo(4 / 5, 12);
    expect(reward.score(turn('User: hello.'))).toBeCloseTo(4 / 5, 12);
    expect(reward.score(turn('Done.', { finishReason: 'length' }))).toBeCloseTo(4 / 5, 12);
    expect(reward.score(turn('Yes. yes.'))).toBeCloseTo(4 / 5, 12);
    // Empty text fails nonEmpty and terminalPunctuation.
    expect(reward.score(turn('   '))).toBeCloseTo(3 / 5, 12);
    expect(reward.score(turn('<|im_end|> hi hi'))).toBeCloseTo(3 / 5, 12);
  });

  it('maps to [penalty, reward], or all-or-nothing', () => {
    const scaled = formatReward({ reward: 2, penalty: -1, maxCharacters: 10 });
    // Six checks; "A long sentence." fails only maxCharacters: -1 + 3 * 5/6 = 1.5
    expect(scaled.score(turn('A long sentence.'))).toBeCloseTo(1.5, 12);
    const strict = formatReward({ mode: 'all', penalty: -1 });
    expect(strict.score(turn('Fine.'))).toBe(1);
    expect(strict.score(turn('Fine'))).toBe(-1);
  });

  it('refuses to run with every check off', () => {
    expect(() =>
      formatReward({
        nonEmpty: false,
        noRoleMarkers: false,
        terminalPunctuation: false,
        notTruncated: false,
        noRepeatedSentences: false,
      }),
    ).toThrow(InvalidArgumentError);
  });
});
