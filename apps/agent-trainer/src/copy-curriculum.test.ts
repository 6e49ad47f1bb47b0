import { type Message, Random } from '@cohort/core';
import { generateSupportDeskDialogues, supportDeskTasks } from '@cohort/environments';
import { trainBpeTokenizer } from '@cohort/tfjs';
import { describe, expect, it } from 'vitest';
import {
  copyCurriculumExample,
  copyCurriculumPieces,
  emailCopyExample,
  randomRepeatExample,
  repeatExample,
} from './copy-curriculum';
import { withRandomCustomers } from './sft-task-variants';

const corpus = [
  'The order number is A1234. I have refunded order A1234: $12.50 within 5 business days.',
  '{"order_id":"A5678","total":"$99.00","status":"delivered","delivered_days_ago":12}',
  '<tool_call>{"name":"get_order","arguments":{"order_id":"A5678"}}</tool_call>',
];
const tokenizer = trainBpeTokenizer({ texts: corpus, vocabSize: 300, individualDigits: true });
const texts = corpus.map((text) => tokenizer.encode(text));

describe('copyCurriculumExample', () => {
  it('states a fresh order id and writes it back, with the loss on the four copied digits only', () => {
    const pieces = copyCurriculumPieces(tokenizer);
    const random = new Random(5);
    const ids = new Set<string>();
    for (let index = 0; index < 50; index++) {
      const { tokenIds, lossMask } = copyCurriculumExample(pieces, texts, random);
      expect(lossMask).toHaveLength(tokenIds.length);
      // The last four tokens, and only they, carry the loss.
      expect(lossMask.slice(-4)).toEqual([1, 1, 1, 1]);
      expect(lossMask.slice(0, -4).every((value) => value === 0)).toBe(true);
      const text = tokenizer.decode(tokenIds);
      const written = /A(\d{4})$/.exec(text);
      expect(written, text).not.toBeNull();
      // The same four digits appear exactly once before, after an `A`: the copy has one source.
      const digits = text.match(/\d/g) ?? [];
      expect(digits).toHaveLength(8);
      expect(text.slice(0, -4)).toContain(`A${written![1]}`);
      ids.add(written![1]!);
    }
    // Fresh ids: 50 draws of 10^4 ids are (almost surely) nearly all different.
    expect(ids.size).toBeGreaterThan(45);
  });

  it('with numbers kept, keeps every other number of the windows and drops only the order ids', () => {
    const pieces = copyCurriculumPieces(tokenizer);
    const random = new Random(11);
    let distractors = 0;
    for (let index = 0; index < 80; index++) {
      const { tokenIds, lossMask } = copyCurriculumExample(pieces, texts, random, 'keep');
      expect(lossMask.slice(-4)).toEqual([1, 1, 1, 1]);
      const text = tokenizer.decode(tokenIds);
      const written = /A(\d{4})$/.exec(text)![1]!;
      // One source: the only `A` followed by digits before the written-back id is the stated one.
      const stated = [...text.slice(0, -4).matchAll(/A(\d+)/g)].map((match) => match[1]);
      expect(stated, text).toEqual([written]);
      // Other numbers (prices, days) stay in the windows as distractors.
      distractors += (text.slice(0, -4).replace(`A${written}`, '').match(/\d/g) ?? []).length;
    }
    expect(distractors).toBeGreaterThan(80);
  });

  it('writes the id as the tokenizer does when digits go in pairs, the loss on its two tokens', () => {
    const paired = trainBpeTokenizer({
      texts: corpus,
      vocabSize: 400,
      individualDigits: true,
      digitPairs: true,
    });
    const pairedTexts = corpus.map((text) => paired.encode(text));
    const pieces = copyCurriculumPieces(paired);
    // Ten single digits and the hundred pairs.
    expect(pieces.digits).toHaveLength(110);
    const random = new Random(5);
    for (let index = 0; index < 30; index++) {
      const { tokenIds, lossMask } = copyCurriculumExample(pieces, pairedTexts, random, 'keep');
      const text = paired.decode(tokenIds);
      const written = /A(\d{4})$/.exec(text);
      expect(written, text).not.toBeNull();
      const idTokens = paired.encode(written![1]!);
      // Two digits per token, left to right.
      expect(idTokens).toHaveLength(2);
      expect(tokenIds.slice(-idTokens.length)).toEqual(idTokens);
      expect(lossMask.filter((value) => value === 1)).toHaveLength(idTokens.length);
      expect(lossMask.slice(-idTokens.length).every((value) => value === 1)).toBe(true);
      expect(text.slice(0, -4)).toContain(`A${written![1]}`);
    }
  });

  it('is the same for the same seed and differs for another', () => {
    const pieces = copyCurriculumPieces(tokenizer);
    const draw = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 5 }, () => copyCurriculumExample(pieces, texts, random).tokenIds);
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
  });

  it('refuses a tokenizer that merges digits', () => {
    const merged = trainBpeTokenizer({
      texts: ['0123456789 0123456789 0123456789'],
      vocabSize: 300,
    });
    expect(() => copyCurriculumPieces(merged)).toThrow(
      /merges digits into longer tokens; train it with individualDigits/,
    );
  });
});

describe('repeatExample', () => {
  it('is a marker, a window of a dialogue, the marker and the same window, with the loss on the repeat', () => {
    const random = new Random(2);
    const marker = tokenizer.eosTokenId;
    const lengths = new Set<number>();
    for (let index = 0; index < 60; index++) {
      const { tokenIds, lossMask } = repeatExample(texts, marker, 4, 12, random);
      const length = (tokenIds.length - 2) / 2;
      lengths.add(length);
      expect(length).toBeGreaterThanOrEqual(4);
      expect(length).toBeLessThanOrEqual(12);
      expect(tokenIds[0]).toBe(marker);
      expect(tokenIds[length + 1]).toBe(marker);
      const segment = tokenIds.slice(1, length + 1);
      expect(tokenIds.slice(length + 2)).toEqual(segment);
      // A contiguous window of one of the texts.
      const window = segment.join(',');
      expect(texts.some((text) => `,${text.join(',')},`.includes(`,${window},`))).toBe(true);
      expect(lossMask).toEqual(tokenIds.map((_, position) => (position >= length + 2 ? 1 : 0)));
    }
    // Every length of the range is drawn, the longest included.
    expect(lengths.size).toBe(9);
  });
});

describe('randomRepeatExample', () => {
  it('repeats random tokens, half of them digit tokens, with the loss on the repeat', () => {
    const random = new Random(4);
    const marker = tokenizer.eosTokenId;
    const digits = copyCurriculumPieces(tokenizer).digits;
    const digitSet = new Set(digits);
    const lengths = new Set<number>();
    let digitTokens = 0;
    let tokens = 0;
    const seen = new Set<number>();
    for (let index = 0; index < 400; index++) {
      const { tokenIds, lossMask } = randomRepeatExample(digits, 300, marker, 8, 24, random);
      const length = (tokenIds.length - 2) / 2;
      lengths.add(length);
      expect(length).toBeGreaterThanOrEqual(8);
      expect(length).toBeLessThanOrEqual(24);
      expect(tokenIds[0]).toBe(marker);
      expect(tokenIds[length + 1]).toBe(marker);
      const segment = tokenIds.slice(1, length + 1);
      expect(tokenIds.slice(length + 2)).toEqual(segment);
      expect(lossMask).toEqual(tokenIds.map((_, position) => (position >= length + 2 ? 1 : 0)));
      for (const token of segment) {
        expect(token).toBeGreaterThanOrEqual(1);
        expect(token).toBeLessThan(300);
        seen.add(token);
        tokens++;
        if (digitSet.has(token)) digitTokens++;
      }
    }
    expect(lengths.size).toBe(17);
    // Half are drawn from the 10 digits, and a uniform draw from 299 tokens hits a digit 10/299 of the time:
    // expected share 0.5 + 0.5 * 10/299 = 0.517; over ~6400 tokens its standard deviation is 0.006.
    expect(digitTokens / tokens).toBeGreaterThan(0.49);
    expect(digitTokens / tokens).toBeLessThan(0.545);
    // The uniform half reaches across the vocabulary (all 299 tokens but a few).
    expect(seen.size).toBeGreaterThan(290);
  });
});

describe('emailCopyExample', async () => {
  // Real dialogues of the reference agent, customers renamed as the SFT run does, and a tokenizer learned on them.
  const tasks = supportDeskTasks({ split: 'train', count: 40, seed: 2 }).map((task) =>
    withRandomCustomers(task, new Random(7).fork(task.id)),
  );
  const dialogues = await generateSupportDeskDialogues({
    tasks,
    seed: 2,
    toolPrompt: 'signatures',
  });
  const dialogueTokenizer = trainBpeTokenizer({
    texts: dialogues.flatMap((dialogue) => dialogue.map((message) => message.content)),
    vocabSize: 700,
    individualDigits: true,
    digitPairs: true,
  });
  const pieces = copyCurriculumPieces(dialogueTokenizer);
  const emailPattern = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
  const withoutEmails = (dialogue: readonly Message[]) =>
    dialogueTokenizer.applyChatTemplate(
      dialogue.map((message) => ({
        ...message,
        content: message.content.replace(emailPattern, ''),
      })),
    );
  const emailFree = dialogues.map(withoutEmails);
  // Without digits too, so that no window loses tokens and the window lengths show as drawn.
  const digitFree = dialogues.map((dialogue) =>
    withoutEmails(
      dialogue.map((message) => ({ ...message, content: message.content.replace(/\d/g, '') })),
    ),
  );
  const contains = (haystack: readonly number[], needle: readonly number[]) =>
    `,${haystack.join(',')},`.includes(`,${needle.join(',')},`);
  const call = '<tool_call>\n{"name":"find_customer","arguments":{"email":"';

  it('encodes the statement and the call as the dialogues do: the email after a space and after a quote can be different tokens', () => {
    let calls = 0;
    let translated = 0;
    dialogues.forEach((dialogue, index) => {
      const email = tasks[index]!.user.email;
      const localPart = email.split('@')[0]!;
      const tokenIds = dialogueTokenizer.applyChatTemplate(dialogue);
      const stated = dialogue.find(
        (message) => message.role === 'user' && message.content.includes(email),
      )!;
      expect(stated.content.startsWith(`My email is ${email}.`)).toBe(true);
      const source = pieces.spanTokens(
        'My email is ',
        email,
        stated.content.slice(`My email is ${email}`.length),
      );
      expect(contains(tokenIds, source.tokenIds)).toBe(true);
      const stateTokens = source.spanPositions.map((position) => source.tokenIds[position]!);
      // The space before the email is its first token's, or a token of its own.
      expect(dialogueTokenizer.decode(stateTokens).trimStart()).toBe(email);
      // The agent writes the email in a find_customer call only when it lacks the order number.
      if (!dialogue.some((message) => message.content.includes(`${call}${email}`))) return;
      calls++;
      const target = pieces.spanTokens(
        call,
        localPart,
        `${email.slice(localPart.length)}"}}\n</tool_call>`,
      );
      expect(contains(tokenIds, target.tokenIds)).toBe(true);
      const written = target.spanPositions.map((position) => target.tokenIds[position]!);
      expect(dialogueTokenizer.decode(written)).toBe(localPart);
      // ` yusuf` after the space and `yusuf` after the quote: where the first token differs, the copy is a translation.
      if (written[0] !== stateTokens[0]) {
        translated++;
        expect(dialogueTokenizer.decode([stateTokens[0]!])).toMatch(/^ [a-z]/);
      }
    });
    expect(calls).toBeGreaterThan(5);
    expect(translated).toBeGreaterThan(0);
  });

  it.each(['drop', 'keep'] as const)(
    'states a fresh email among email-free windows and writes it into the call, the loss on its local part only (numbers %s)',
    (numbers) => {
      // Digit-free windows: in these the window lengths are as drawn; the numbers are checked below.
      const random = new Random(numbers === 'drop' ? 1 : 2);
      const emails = new Set<string>();
      const firstWindows = new Set<number>();
      const secondWindows = new Set<number>();
      const tails = new Set<string>();
      for (let index = 0; index < 600; index++) {
        const { tokenIds, lossMask } = emailCopyExample(pieces, digitFree, random, numbers);
        expect(lossMask).toHaveLength(tokenIds.length);
        const copied = tokenIds.filter((_, position) => lossMask[position] === 1);
        const localPart = dialogueTokenizer.decode(copied);
        // The shape of withRandomCustomers: 3-7 letters, a dot, 3-7 letters, 1-99.
        expect(localPart).toMatch(/^[a-z]{3,7}\.[a-z]{3,7}[1-9]\d?$/);
        emails.add(localPart);
        // The loss is on the sequence's last tokens, right after the call's opening.
        const lossStart = lossMask.indexOf(1);
        expect(lossMask.slice(lossStart).every((value) => value === 1)).toBe(true);
        const opening = dialogueTokenizer.encode(call);
        expect(tokenIds.slice(lossStart - opening.length, lossStart)).toEqual(opening);
        // One source: the only email in the sequence is the stated one.
        const text = dialogueTokenizer.decode(tokenIds);
        expect(text.match(/@/g)).toHaveLength(1);
        const statement = new RegExp(
          `My email is ${localPart.replace('.', '\\.')}@example\\.com\\.( I do not have the order number\\.| The order number is A\\d{4}\\.)`,
        ).exec(text);
        expect(statement, text).not.toBeNull();
        tails.add(statement![1]!.slice(0, 8));
        // The windows around the statement: 0-60 tokens before it, 2-80 between it and the call.
        const source = pieces.spanTokens(
          'My email is ',
          `${localPart}@example.com`,
          `.${statement![1]}`,
        ).tokenIds;
        const sourceAt = tokenIds.findIndex((_, position) =>
          source.every((token, offset) => tokenIds[position + offset] === token),
        );
        firstWindows.add(sourceAt);
        secondWindows.add(lossStart - opening.length - sourceAt - source.length);
      }
      expect(emails.size).toBe(600);
      expect(Math.min(...firstWindows)).toBe(0);
      expect(Math.max(...firstWindows)).toBe(60);
      expect(Math.min(...secondWindows)).toBe(2);
      expect(Math.max(...secondWindows)).toBe(80);
      expect(tails).toEqual(new Set([' I do no', ' The ord']));
    },
  );

  it.each([
    ['drop', 0, 0],
    ['keep', 100, Number.POSITIVE_INFINITY],
  ] as const)(
    'with numbers %s, the windows keep between %d and %d digits of 100 sequences',
    (numbers, minimum, maximum) => {
      const random = new Random(3);
      let digits = 0;
      for (let index = 0; index < 100; index++) {
        const { tokenIds, lossMask } = emailCopyExample(pieces, emailFree, random, numbers);
        const text = dialogueTokenizer.decode(tokenIds.slice(0, lossMask.indexOf(1)));
        const windows = text.replace(
          /My email is [^@]+@example\.com\.( The order number is A\d{4}\.)?/,
          '',
        );
        digits += (windows.match(/\d/g) ?? []).length;
        // Never another order id: the stated email is the only thing to copy.
        expect(windows).not.toMatch(/A\d{4}/);
      }
      expect(digits).toBeGreaterThanOrEqual(minimum);
      expect(digits).toBeLessThanOrEqual(maximum);
    },
  );

  it('is the same for the same seed and differs for another', () => {
    const draw = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 4 }, () => emailCopyExample(pieces, emailFree, random).tokenIds);
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
  });
});
