import type { Message } from '@cohort/core';
import { generateSupportDeskDialogues, supportDeskTasks } from '@cohort/environments';
import { type BpeTokenizer, initializeBackend, trainBpeTokenizer } from '@cohort/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type DialogueTokenCategory,
  dialogueTokenCategories,
  dialogueTokenCategoryNames,
  dialogueTokenCategoryNats,
  weightDecisionsAfterRead,
} from './dialogue-token-categories';
import { lossMaskOn } from './sft-dialogues';
import { smallDialogueModel } from './test-support/dialogue-model';

const dialoguesPromise = generateSupportDeskDialogues({
  tasks: supportDeskTasks({ split: 'eval', count: 8 }),
  seed: 2,
  toolPrompt: 'signatures',
});

const actionNames = new Set(['refund', 'cancel', 'exchange', 'escalate']);

/** What each category must decode to, read off the messages with regular expressions and JSON, not token positions. */
function expectedTexts(
  dialogue: readonly Message[],
): Partial<Record<DialogueTokenCategory, string>> {
  const agent = dialogue.filter((message) => message.role === 'assistant');
  const calls = agent
    .map((message) => /<tool_call>\n(.*)\n<\/tool_call>/.exec(message.content)?.[1])
    .filter((json): json is string => json !== undefined)
    .map((json) => JSON.parse(json) as { name: string; arguments: Record<string, string> });
  const names = (keep: (name: string) => boolean) =>
    calls
      .filter((call) => keep(call.name))
      .map((call) => call.name)
      .join('');
  const values = (keep: (key: string) => boolean) =>
    calls
      .flatMap((call) => Object.entries(call.arguments).filter(([key]) => keep(key)))
      .map(([, value]) => value)
      .join('');
  return {
    'toolName.find_customer': names((name) => name === 'find_customer'),
    'toolName.get_order': names((name) => name === 'get_order'),
    'toolName.action': names((name) => actionNames.has(name)),
    'argument.email': values((key) => key === 'email'),
    'argument.orderId': values((key) => key === 'order_id'),
    'argument.other': values((key) => key !== 'email' && key !== 'order_id'),
    turnEnd: '<|im_end|>\n'.repeat(agent.length),
  };
}

describe('dialogue token categories', () => {
  beforeAll(async () => {
    await initializeBackend({ logger: false });
  });

  it.each([false, true])(
    'splits a rendered reference dialogue into tool names, arguments and replies as the messages hold them (digit pairs: %s)',
    async (digitPairs) => {
      const dialogues = await dialoguesPromise;
      const tokenizer = trainBpeTokenizer({
        texts: dialogues.flatMap((dialogue) => dialogue.map((message) => message.content)),
        vocabSize: 600,
        individualDigits: true,
        digitPairs,
      });
      let actions = 0;
      for (const dialogue of dialogues) {
        const { tokenIds, categoryPerToken, decisionsAfterRead } = dialogueTokenCategories(
          dialogue,
          tokenizer,
        );
        expect(tokenIds).toEqual(tokenizer.applyChatTemplate(dialogue));
        expect(categoryPerToken).toHaveLength(tokenIds.length);
        const decoded = (category: DialogueTokenCategory) =>
          tokenizer.decode(tokenIds.filter((_, at) => categoryPerToken[at] === category));
        for (const [category, text] of Object.entries(expectedTexts(dialogue)))
          expect(decoded(category as DialogueTokenCategory), category).toBe(text);
        actions += decoded('toolName.action').length > 0 ? 1 : 0;

        const agent = dialogue.filter((message) => message.role === 'assistant');
        const callMessages = agent.filter((message) => message.content.startsWith('<tool_call>'));
        const textMessages = agent.filter((message) => !message.content.startsWith('<tool_call>'));
        // One turn start per agent message: `<` for a call, the reply's first token otherwise.
        expect(decoded('turnStart.call')).toBe('<'.repeat(callMessages.length));
        const firstTokens = textMessages
          .map((message) => tokenizer.decode([tokenizer.encode(message.content)[0]!]))
          .join('');
        expect(decoded('turnStart.text')).toBe(firstTokens);
        // The last agent message, all of it, is the final reply (its first token the turn start).
        const final = agent.at(-1)!.content;
        expect(final.startsWith('<tool_call>')).toBe(false);
        expect(decoded('reply.final')).toBe(
          final.slice(tokenizer.decode([tokenizer.encode(final)[0]!]).length),
        );
        // Every agent character is in exactly one category, and the rest is context.
        const agentCharacters = agent.reduce(
          (sum, message) => sum + message.content.length + '<|im_end|>\n'.length,
          0,
        );
        const agentDecoded = dialogueTokenCategoryNames
          .filter((category) => category !== 'context')
          .reduce((sum, category) => sum + decoded(category).length, 0);
        expect(agentDecoded).toBe(agentCharacters);

        // Decisions after a read: the name of each call that follows a tool result, or a text reply's first token.
        const expectedDecisions = dialogue
          .flatMap((message, index) =>
            message.role === 'assistant' && dialogue[index - 1]?.role === 'tool' ? [message] : [],
          )
          .map((message) => {
            const name = /"name":"(\w+)"/.exec(message.content)?.[1];
            return name ?? tokenizer.decode([tokenizer.encode(message.content)[0]!]);
          })
          .join('');
        expect(tokenizer.decode(decisionsAfterRead.map((at) => tokenIds[at]!))).toBe(
          expectedDecisions,
        );
        expect(expectedDecisions.length).toBeGreaterThan(0);
      }
      // The held-out tasks hold refunds, cancellations, exchanges and escalations.
      expect(actions).toBeGreaterThanOrEqual(6);
    },
  );

  it('counts a malformed call as call syntax and an unknown tool name as call syntax', () => {
    const tokenizer = trainBpeTokenizer({
      texts: ['<tool_call>\n{"name":"get_order"}\n</tool_call> hello'],
      vocabSize: 300,
      individualDigits: true,
    });
    const dialogue: Message[] = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: '<tool_call>\n{"name":"get_order",\n</tool_call>' },
      { role: 'tool', content: '{"error":"malformed"}' },
      { role: 'assistant', content: '<tool_call>\n{"name":"dance","arguments":{}}\n</tool_call>' },
    ];
    const { categoryPerToken, decisionsAfterRead } = dialogueTokenCategories(dialogue, tokenizer);
    const counts = new Map<string, number>();
    for (const category of categoryPerToken) counts.set(category, (counts.get(category) ?? 0) + 1);
    expect(counts.get('turnStart.call')).toBe(2);
    expect([...counts.keys()].filter((key) => key.startsWith('toolName.'))).toEqual([]);
    expect(decisionsAfterRead).toEqual([]);
  });

  it('weights only the decisions after a read', async () => {
    const [dialogue] = await dialoguesPromise;
    const tokenizer: BpeTokenizer = trainBpeTokenizer({
      texts: dialogue!.map((message) => message.content),
      vocabSize: 400,
      individualDigits: true,
    });
    const categorized = dialogueTokenCategories(dialogue!, tokenizer);
    const lossMask = lossMaskOn(
      'all',
      categorized.tokenIds,
      new Array<number>(categorized.tokenIds.length).fill(0),
    );
    const weighted = weightDecisionsAfterRead(lossMask, categorized, 20);
    const changed = weighted.flatMap((value, at) => (value !== lossMask[at] ? [at] : []));
    expect(changed).toEqual(categorized.decisionsAfterRead);
    for (const at of changed) expect(weighted[at]).toBe(20 * lossMask[at]!);
    expect(changed.length).toBeGreaterThan(0);
  });

  it('is the mean negative log-likelihood per category, as a float64 log-softmax of the logits gives', async () => {
    const dialogues = (await dialoguesPromise).slice(0, 3);
    const { tokenizer, model } = smallDialogueModel(dialogues);
    // Dialogues of different lengths, two to a batch: the first batch is padded, the second a single row.
    const categorized = dialogues.map((dialogue) => dialogueTokenCategories(dialogue, tokenizer));
    expect(new Set(categorized.map((entry) => entry.tokenIds.length)).size).toBe(3);
    const nats = dialogueTokenCategoryNats(model, categorized, {
      padTokenId: tokenizer.padTokenId,
      batchSize: 2,
    });
    const expected = new Map<string, { total: number; tokens: number }>();
    for (const { tokenIds, categoryPerToken } of categorized) {
      const output = model.forward([tokenIds]);
      const logits = output.logits.arraySync()[0]!;
      output.logits.dispose();
      for (const layer of output.presentKeyValues) {
        layer.key.dispose();
        layer.value.dispose();
      }
      for (let position = 1; position < tokenIds.length; position++) {
        const row = logits[position - 1]!;
        const max = Math.max(...row);
        const logSum = max + Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
        const entry = expected.get(categoryPerToken[position]!) ?? { total: 0, tokens: 0 };
        entry.total += logSum - row[tokenIds[position]!]!;
        entry.tokens++;
        expected.set(categoryPerToken[position]!, entry);
      }
    }
    for (const category of dialogueTokenCategoryNames) {
      const entry = expected.get(category);
      if (!entry) {
        expect(nats[category].tokens, category).toBe(0);
        expect(nats[category].meanNats).toBeNaN();
        continue;
      }
      expect(nats[category].tokens, category).toBe(entry.tokens);
      expect(nats[category].meanNats, category).toBeCloseTo(entry.total / entry.tokens, 4);
    }
    // Every position after the first is counted once.
    const counted = dialogueTokenCategoryNames.reduce(
      (sum, category) => sum + nats[category].tokens,
      0,
    );
    expect(counted).toBe(categorized.reduce((sum, entry) => sum + entry.tokenIds.length - 1, 0));
    expect(nats['toolName.action'].tokens).toBeGreaterThan(0);
    // Untrained: near chance over the whole vocabulary, far above the 4 actions' ln 4.
    expect(nats['toolName.action'].meanNats).toBeGreaterThan(Math.log(4));
    model.dispose();
  });
});
