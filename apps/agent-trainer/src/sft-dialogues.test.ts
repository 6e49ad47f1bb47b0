import type { Message } from '@cohort/core';
import { generateDialogues, supportScenarios } from '@cohort/environments';
import { trainBpeTokenizer } from '@cohort/tfjs';
import { describe, expect, it } from 'vitest';
import { assistantLossMask, degradeDialogues, lossMaskOn, vagueReplies } from './sft-dialogues';

const dialogues = await generateDialogues({
  scenarios: supportScenarios({ split: 'train' }),
  seed: 3,
  count: 60,
});

describe('degradeDialogues', () => {
  it('is deterministic for a seed, leaves the input alone, and keeps system and user turns', () => {
    const before = JSON.stringify(dialogues);
    const first = degradeDialogues(dialogues, { seed: 5 });
    expect(degradeDialogues(dialogues, { seed: 5 })).toEqual(first);
    expect(degradeDialogues(dialogues, { seed: 6 }).dialogues).not.toEqual(first.dialogues);
    expect(JSON.stringify(dialogues)).toBe(before);
    first.dialogues.forEach((dialogue, index) => {
      const original = dialogues[index]!;
      expect(dialogue.map((message) => message.role)).toEqual(
        original.map((message) => message.role),
      );
      dialogue.forEach((message, position) => {
        if (message.role !== 'assistant') expect(message.content).toBe(original[position]!.content);
      });
    });
  });

  it('degrades about the requested share, each degraded turn vague or shorter', () => {
    const {
      dialogues: mixed,
      degradedDialogues,
      degradedTurns,
    } = degradeDialogues(dialogues, { seed: 1, dialogueFraction: 0.5, turnFraction: 1 });
    // With every turn of a chosen dialogue degraded, about half the 60 dialogues change (binomial sd ~3.9).
    expect(degradedDialogues).toBeGreaterThan(18);
    expect(degradedDialogues).toBeLessThan(42);
    let counted = 0;
    mixed.forEach((dialogue, index) => {
      dialogue.forEach((message, position) => {
        const original = dialogues[index]![position]!.content;
        if (message.role !== 'assistant' || message.content === original) return;
        counted++;
        const vague = (vagueReplies as readonly string[]).includes(message.content);
        expect(vague || message.content.length < original.length).toBe(true);
      });
    });
    expect(counted).toBe(degradedTurns);
    expect(degradeDialogues(dialogues, { seed: 1, dialogueFraction: 0 }).degradedTurns).toBe(0);
  });
});

describe('assistantLossMask', () => {
  const tokenizer = trainBpeTokenizer({
    texts: dialogues.flatMap((dialogue) => dialogue.map((message) => message.content)),
    vocabSize: 400,
  });

  it('marks exactly each agent reply and its end-of-turn token', () => {
    const messages: Message[] = [
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'Hello there' },
      { role: 'assistant', content: 'Hi! How can I help?' },
      { role: 'user', content: 'Refund please' },
      { role: 'assistant', content: 'Done.' },
    ];
    const { tokenIds, lossMask } = assistantLossMask(messages, tokenizer);
    expect(tokenIds).toEqual(tokenizer.applyChatTemplate(messages));
    // Independent check: split the masked positions into runs and decode each run.
    const runs: number[][] = [];
    lossMask.forEach((mask, position) => {
      if (mask !== 1) return;
      const current = runs.at(-1);
      if (current && current.at(-1) === position - 1) current.push(position);
      else runs.push([position]);
    });
    expect(runs.map((run) => tokenizer.decode(run.map((position) => tokenIds[position]!)))).toEqual(
      ['Hi! How can I help?<|im_end|>', 'Done.<|im_end|>'],
    );
  });
});

describe('lossMaskOn', () => {
  it("keeps the agent's mask, or covers every token but the first", () => {
    const dialogue = dialogues[0] as Message[];
    const tokenizer = trainBpeTokenizer({
      texts: dialogue.map((message) => message.content),
      vocabSize: 300,
    });
    const { tokenIds, lossMask } = assistantLossMask(dialogue, tokenizer);
    expect(lossMaskOn('assistant', tokenIds, lossMask)).toEqual(lossMask);
    const all = lossMaskOn('all', tokenIds, lossMask);
    expect(all).toHaveLength(tokenIds.length);
    expect(all[0]).toBe(0);
    expect(all.slice(1).every((value) => value === 1)).toBe(true);
    // The agent's tokens are a strict subset: the system and user turns are in `all` only.
    const agentTokens = lossMask.reduce((sum, value) => sum + value, 0);
    expect(agentTokens).toBeGreaterThan(0);
    expect(agentTokens).toBeLessThan(tokenIds.length / 2);
  });
});
