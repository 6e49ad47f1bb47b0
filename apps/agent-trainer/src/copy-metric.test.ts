import { generateSupportDeskDialogues, supportDeskTasks } from '@cohort/environments';
import { initializeBackend, trainBpeTokenizer } from '@cohort/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyNats, copyTargets } from './copy-metric';
import { smallDialogueModel } from './test-support/dialogue-model';

const dialoguesPromise = generateSupportDeskDialogues({
  tasks: supportDeskTasks({ split: 'eval', count: 5 }),
  seed: 2,
  toolPrompt: 'signatures',
});

describe('copy metric', () => {
  beforeAll(async () => {
    await initializeBackend({ logger: false });
  });

  it.each([false, true])(
    'finds exactly the order-id digits and email local parts the agent writes (digit pairs: %s)',
    async (digitPairs) => {
      const dialogues = await dialoguesPromise;
      const tokenizer = trainBpeTokenizer({
        texts: dialogues.flatMap((dialogue) => dialogue.map((message) => message.content)),
        vocabSize: 500,
        individualDigits: true,
        digitPairs,
      });
      for (const dialogue of dialogues) {
        const targets = copyTargets(dialogue, tokenizer);
        const agentText = dialogue
          .filter((message) => message.role === 'assistant')
          .map((message) => message.content)
          .join('\n');
        const digits = [...agentText.matchAll(/\bA(\d{4})\b/g)].map((match) => match[1]).join('');
        const locals = [...agentText.matchAll(/([\w.+-]+)@example\.com/g)]
          .map((match) => match[1])
          .join('');
        expect(digits.length).toBeGreaterThanOrEqual(8);
        expect(tokenizer.decode(targets.orderIdDigits.map((at) => targets.tokenIds[at]!))).toBe(
          digits,
        );
        // Counted in digits, whatever the tokens: a pair token writes two.
        expect(targets.orderIdDigitCount).toBe(digits.length);
        if (digitPairs) expect(targets.orderIdDigits.length).toBeLessThan(digits.length);
        else expect(targets.orderIdDigits.length).toBe(digits.length);
        expect(tokenizer.decode(targets.emailTokens.map((at) => targets.tokenIds[at]!))).toBe(
          locals,
        );
        expect(targets.tokenIds).toEqual(tokenizer.applyChatTemplate(dialogue));
      }
    },
  );

  it('is the mean negative log-likelihood of those tokens, as a float64 log-softmax of the logits gives', async () => {
    const dialogues = (await dialoguesPromise).slice(0, 3);
    const { tokenizer, model } = smallDialogueModel(dialogues);
    // Dialogues of different lengths, two to a batch: the second batch is a single, unpadded row.
    const targets = dialogues.map((dialogue) => copyTargets(dialogue, tokenizer));
    expect(new Set(targets.map((target) => target.tokenIds.length)).size).toBe(3);
    const nats = copyNats(model, targets, { padTokenId: tokenizer.padTokenId, batchSize: 2 });
    const expected = { digit: 0, email: 0, digits: 0, emails: 0 };
    for (const target of targets) {
      const output = model.forward([target.tokenIds]);
      const logits = output.logits.arraySync()[0]!;
      output.logits.dispose();
      for (const layer of output.presentKeyValues) {
        layer.key.dispose();
        layer.value.dispose();
      }
      const negativeLogLikelihood = (position: number) => {
        const row = logits[position - 1]!;
        const max = Math.max(...row);
        const logSum = max + Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
        return logSum - row[target.tokenIds[position]!]!;
      };
      for (const position of target.orderIdDigits)
        expected.digit += negativeLogLikelihood(position);
      for (const position of target.emailTokens) expected.email += negativeLogLikelihood(position);
      expected.digits += target.orderIdDigits.length;
      expected.emails += target.emailTokens.length;
    }
    expect(nats.orderIdDigits).toBe(expected.digits);
    expect(nats.emailTokens).toBe(expected.emails);
    expect(nats.orderIdDigit).toBeCloseTo(expected.digit / expected.digits, 4);
    expect(nats.emailToken).toBeCloseTo(expected.email / expected.emails, 4);
    // An untrained model is near chance over its whole vocabulary, far above ln 10.
    expect(nats.orderIdDigit).toBeGreaterThan(Math.log(10));
    model.dispose();
  });
});
