import { Random } from '@cohort/core';
import {
  createSupportDeskEnvironment,
  generateSupportDeskDialogues,
  supportDeskTasks,
} from '@cohort/environments';
import { trainBpeTokenizer } from '@cohort/tfjs';
import { describe, expect, it } from 'vitest';
import {
  corruptedArgument,
  recoveryTurn,
  replayedEndReason,
  withoutMessageLoss,
} from './recovery-dialogues';
import { withRandomCustomers } from './sft-task-variants';

/** The one edit that turns `original` into `corrupted`: a changed or a dropped character, and where. */
function edit(original: string, corrupted: string): { kind: 'change' | 'drop'; index: number } {
  if (corrupted.length === original.length - 1) {
    const index = [...original].findIndex((character, at) => corrupted[at] !== character);
    expect(original.slice(0, index) + original.slice(index + 1)).toBe(corrupted);
    return { kind: 'drop', index };
  }
  expect(corrupted).toHaveLength(original.length);
  const changed = [...original].flatMap((character, at) =>
    corrupted[at] !== character ? [at] : [],
  );
  expect(changed).toHaveLength(1);
  return { kind: 'change', index: changed[0]! };
}

describe('corruptedArgument', () => {
  it('changes a letter or digit of an email local part to another of its kind, or drops it, and leaves the domain', () => {
    const random = new Random(1);
    const email = 'yusuf.virtanen92@example.com';
    const kinds = new Set<string>();
    const indices = new Set<number>();
    for (let draw = 0; draw < 400; draw++) {
      const corrupted = corruptedArgument(email, new Set(), random);
      const { kind, index } = edit(email, corrupted);
      kinds.add(kind);
      indices.add(index);
      expect(corrupted.endsWith('@example.com')).toBe(true);
      // The dot is never touched: a letter or a digit of the 15 the local part holds.
      expect(index).not.toBe(5);
      expect(index).toBeLessThan(16);
      if (kind === 'change') {
        const [before, after] = [email[index]!, corrupted[index]!];
        expect(/\d/.test(after)).toBe(/\d/.test(before));
        expect(after).toMatch(/[a-z0-9]/);
      }
    }
    expect(kinds).toEqual(new Set(['change', 'drop']));
    // Every one of the 15 letters and digits is hit at some draw (each 1/15 of 400 draws).
    expect(indices.size).toBe(15);
  });

  it("changes or drops a digit of an order id, never its 'A'", () => {
    const random = new Random(2);
    const kinds = new Set<string>();
    for (let draw = 0; draw < 200; draw++) {
      const corrupted = corruptedArgument('A1234', new Set(), random);
      const { kind, index } = edit('A1234', corrupted);
      kinds.add(kind);
      expect(index).toBeGreaterThanOrEqual(1);
      expect(corrupted).toMatch(/^A\d{3,4}$/);
    }
    expect(kinds).toEqual(new Set(['change', 'drop']));
  });

  it('never gives a value the database holds', () => {
    const random = new Random(3);
    // Every corruption of A12 but dropping its 2 (A1) is taken.
    const taken = new Set([
      'a2',
      ...'0123456789'.split('').flatMap((digit) => [`a${digit}2`, `a1${digit}`]),
    ]);
    for (let draw = 0; draw < 50; draw++)
      expect(corruptedArgument('A12', taken, random)).toBe('A1');
  });

  it('refuses a value with nothing to corrupt, or with every corruption taken, naming the value', () => {
    expect(() => corruptedArgument('@example.com', new Set(), new Random(1))).toThrow(
      /Invalid argument value = "@example.com": has no letter or digit to corrupt/,
    );
    const everything = new Set(['a', ...'0123456789'.split('').map((digit) => `a${digit}`)]);
    expect(() => corruptedArgument('A1', everything, new Random(1))).toThrow(
      /Invalid argument value = "A1": every corruption tried is a value the database holds/,
    );
  });
});

describe('recovery dialogues', async () => {
  const tasks = supportDeskTasks({ split: 'train', count: 60, seed: 4 }).map((task) =>
    withRandomCustomers(task, new Random(5).fork(task.id)),
  );
  const reference = await generateSupportDeskDialogues({
    tasks,
    seed: 4,
    toolPrompt: 'signatures',
  });
  const random = new Random(6);
  const corruptedAt = new Map<number, number>();
  const recovered = await generateSupportDeskDialogues({
    tasks,
    seed: 4,
    toolPrompt: 'signatures',
    reply: ({ messages, reference: turn, taskIndex }) => {
      if (corruptedAt.has(taskIndex)) return turn;
      const corrupted = recoveryTurn({
        messages,
        reference: turn,
        task: tasks[taskIndex]!,
        random,
      });
      if (corrupted === undefined) return turn;
      corruptedAt.set(taskIndex, messages.length);
      return corrupted;
    },
  });

  it("corrupts the first call's argument, gets the backend's error, and then is the reference dialogue", () => {
    const tools = new Set<string>();
    expect(corruptedAt.size).toBe(tasks.length);
    recovered.forEach((dialogue, index) => {
      const at = corruptedAt.get(index)!;
      const call =
        /"name":"(find_customer|get_order)","arguments":\{"(email|order_id)":"([^"]+)"/.exec(
          dialogue[at]!.content,
        )!;
      tools.add(call[1]!);
      // The first tool call of the dialogue, and the reference agent's call at that turn with one character off.
      expect(
        dialogue
          .slice(0, at)
          .some(
            (message) => message.role === 'assistant' && message.content.includes('<tool_call>'),
          ),
      ).toBe(false);
      const right = /"(?:email|order_id)":"([^"]+)"/.exec(reference[index]![at]!.content)![1]!;
      edit(right, call[3]!);
      expect(dialogue[at + 1]).toEqual({
        role: 'tool',
        content: JSON.stringify({
          error: `tool-error: ${call[1] === 'find_customer' ? `no customer with email ${call[3]}` : `no order ${call[3]}`}`,
        }),
      });
      // Without the corrupted call and its error, the dialogue is the reference agent's.
      expect([...dialogue.slice(0, at), ...dialogue.slice(at + 2)]).toEqual(reference[index]);
    });
    expect(tools).toEqual(new Set(['find_customer', 'get_order']));
  });

  it('ends every recovery dialogue in task success when played again on the environment', async () => {
    const environment = createSupportDeskEnvironment({ toolPrompt: 'signatures' });
    for (const [index, dialogue] of recovered.entries())
      expect(
        await replayedEndReason({ environment, task: tasks[index]!, dialogue, seed: 4 + index }),
      ).toBe('success');
    // The check can fail: the dialogue cut before the agent's last turn does not succeed.
    const cut = recovered[0]!.slice(0, -1);
    expect(
      await replayedEndReason({ environment, task: tasks[0]!, dialogue: cut, seed: 4 }),
    ).not.toBe('success');
  });

  it("takes the corrupted call's tokens, and only those, out of the loss", () => {
    const tokenizer = trainBpeTokenizer({
      texts: recovered.flatMap((dialogue) => dialogue.map((message) => message.content)),
      vocabSize: 600,
      individualDigits: true,
      digitPairs: true,
    });
    for (const [index, dialogue] of recovered.slice(0, 10).entries()) {
      const tokenIds = tokenizer.applyChatTemplate(dialogue);
      const ones = tokenIds.map(() => 1);
      const at = corruptedAt.get(index)!;
      const lossMask = withoutMessageLoss(ones, dialogue, at, tokenizer);
      const dropped = tokenIds.filter((_, position) => lossMask[position] === 0);
      // The call's text and the end of its turn.
      expect(JSON.stringify(tokenizer.decode(dropped))).toBe(
        JSON.stringify(`${dialogue[at]!.content}<|im_end|>\n`),
      );
      const firstDropped = lossMask.indexOf(0);
      expect(
        lossMask.slice(firstDropped, firstDropped + dropped.length).every((value) => value === 0),
      ).toBe(true);
      // The retry right after the error keeps its loss.
      const retry = tokenizer.encode(dialogue[at + 2]!.content);
      const retryAt = tokenIds.findIndex(
        (_, position) =>
          position > firstDropped &&
          retry.every((token, offset) => tokenIds[position + offset] === token),
      );
      expect(retryAt).toBeGreaterThan(firstDropped + dropped.length);
      expect(lossMask.slice(retryAt, retryAt + retry.length).every((value) => value === 1)).toBe(
        true,
      );
    }
  });

  it('leaves a dialogue alone after its first tool call', () => {
    const dialogue = reference[0]!;
    const calls = dialogue.flatMap((message, at) =>
      message.role === 'assistant' && message.content.includes('<tool_call>') ? [at] : [],
    );
    expect(calls.length).toBeGreaterThan(1);
    const later = calls[1]!;
    expect(
      recoveryTurn({
        messages: dialogue.slice(0, later),
        reference: dialogue[later]!.content,
        task: tasks[0]!,
        random: new Random(1),
      }),
    ).toBeUndefined();
  });
});
