import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, type Message } from '@cohort/core';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpeTokenizer, chatMlJinjaTemplate } from './bpe-tokenizer';
import { loadBpeTokenizer, saveBpeTokenizer } from './bpe-tokenizer-files';
import {
  byteLevelPreTokenize,
  byteToCharacter,
  digitPairsPreTokenizePattern,
  separateSpacesPreTokenizePattern,
} from './byte-level';
import { trainBpeTokenizer } from './train-bpe-tokenizer';

const corpus = [
  'The quick brown fox jumps over the lazy dog.',
  "It's a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
  'the the the then they them there these those',
  'Hello, world! Hello there; hello again: HELLO!!!',
  'Numbers: 12345, 3.14159, 2026-01-01 and 1,000,000.',
  'Café crème brûlée — naïve résumé. 日本語のテキスト。 Emoji: 🙂🚀🙂',
  "We'll see, they've gone, I'm here, you're there, he'd go.",
  'aaaaaaa bbbbbbb aaaa bbbb aa bb',
  '  leading spaces\tand\ttabs\n\nnew lines   trailing   ',
  '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n',
];

const probes = [
  'The quick brown fox.',
  'hello world',
  'Hello,world!!',
  '   multiple   spaces   ',
  '\t\ttabs\n\n\nnewlines \n ',
  'aaaaaaaaaaa aaa aaaaa',
  "they've it's I'd WE'LL",
  'numbers 1234567890 3.14 -42 1e-5',
  'émoji 🙂🚀 and 日本語 text, ñandú',
  'unseen zyxwvut qqq',
  'mix<|im_end|>of<|endoftext|>special<|pad|>tokens<|im_start|>',
  '',
  ' ',
  '\u0000\u0001 control \u007f',
  '🙂',
];

/**
 * An independent, slow BPE trainer: recounts every pair of every word
 * occurrence (no word deduplication, no incremental counts) before each merge.
 */
function naiveMerges(
  texts: string[],
  mergeCount: number,
  allowed: (left: string, right: string) => boolean = () => true,
  first: [string, string][] = [],
  pattern?: RegExp,
): [string, string][] {
  const sequences: string[][] = texts.flatMap((text) =>
    text
      .split(/<\|im_start\|>|<\|im_end\|>|<\|endoftext\|>|<\|pad\|>/)
      .flatMap((segment) =>
        byteLevelPreTokenize(segment, pattern).map((piece) => Array.from(piece)),
      ),
  );
  const merges: [string, string][] = [];
  const apply = (pair: [string, string]) => {
    merges.push(pair);
    for (let s = 0; s < sequences.length; s++) {
      const sequence = sequences[s] as string[];
      const merged: string[] = [];
      for (let index = 0; index < sequence.length; index++) {
        if (sequence[index] === pair[0] && sequence[index + 1] === pair[1]) {
          merged.push(pair[0] + pair[1]);
          index++;
        } else merged.push(sequence[index] as string);
      }
      sequences[s] = merged;
    }
  };
  for (const pair of first) apply(pair);
  while (merges.length < mergeCount) {
    const counts: Record<string, { pair: [string, string]; count: number }> = {};
    for (const sequence of sequences) {
      for (let index = 0; index + 1 < sequence.length; index++) {
        const pair: [string, string] = [sequence[index] as string, sequence[index + 1] as string];
        if (!allowed(...pair)) continue;
        const key = JSON.stringify(pair);
        counts[key] = { pair, count: (counts[key]?.count ?? 0) + 1 };
      }
    }
    const candidates = Object.values(counts).sort(
      (x, y) =>
        y.count - x.count ||
        (x.pair[0] < y.pair[0]
          ? -1
          : x.pair[0] > y.pair[0]
            ? 1
            : x.pair[1] < y.pair[1]
              ? -1
              : x.pair[1] > y.pair[1]
                ? 1
                : 0),
    );
    const best = candidates[0];
    if (best === undefined || best.count < 2) break;
    apply(best.pair);
  }
  return merges;
}

const tokenizer = trainBpeTokenizer({ texts: corpus, vocabSize: 300 });
let directory = '';
let reference: PreTrainedTokenizer;
/** Trained to saturation (every pair seen twice merged), so long merge chains get exercised. */
const rich = trainBpeTokenizer({
  texts: [...corpus, ...corpus.map((text) => text.toUpperCase())],
  vocabSize: 5000,
});
let richReference: PreTrainedTokenizer;
const digitCorpus = [
  ...corpus,
  'order A7746 total $34.50, order A7746 again, A1234 A1234 A5678 12 12 12 3 days 3 days',
];
/** Saturated too, with digits kept apart. */
const digits = trainBpeTokenizer({ texts: digitCorpus, vocabSize: 5000, individualDigits: true });
let digitsReference: PreTrainedTokenizer;
/** Saturated, with numbers in tokens of one or two digits. */
const digitPairs = trainBpeTokenizer({
  texts: digitCorpus,
  vocabSize: 5000,
  individualDigits: true,
  digitPairs: true,
});
let digitPairsReference: PreTrainedTokenizer;
/** Saturated, with digit pairs and every whitespace run a token of its own. */
const spaced = trainBpeTokenizer({
  texts: digitCorpus,
  vocabSize: 5000,
  individualDigits: true,
  digitPairs: true,
  separateSpaces: true,
});
let spacedReference: PreTrainedTokenizer;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'cohort-bpe-'));
  await saveBpeTokenizer(tokenizer, path.join(directory, 'tiny-bpe'));
  env.allowRemoteModels = false;
  env.localModelPath = directory;
  reference = await AutoTokenizer.from_pretrained('tiny-bpe');
  await saveBpeTokenizer(rich, path.join(directory, 'rich-bpe'));
  richReference = await AutoTokenizer.from_pretrained('rich-bpe');
  await saveBpeTokenizer(digits, path.join(directory, 'digits-bpe'));
  digitsReference = await AutoTokenizer.from_pretrained('digits-bpe');
  await saveBpeTokenizer(digitPairs, path.join(directory, 'digit-pairs-bpe'));
  digitPairsReference = await AutoTokenizer.from_pretrained('digit-pairs-bpe');
  await saveBpeTokenizer(spaced, path.join(directory, 'spaced-bpe'));
  spacedReference = await AutoTokenizer.from_pretrained('spaced-bpe');
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** `trained` encodes every text to the ids transformers.js gives on its tokenizer.json, and decodes them back to the text. */
function expectEncodesAsReference(
  trained: BpeTokenizer,
  reference: PreTrainedTokenizer,
  texts: readonly string[],
): void {
  for (const text of texts) {
    expect(trained.encode(text), JSON.stringify(text)).toEqual(reference.encode(text));
    expect(trained.decode(trained.encode(text))).toBe(text);
  }
}

const conversations: Message[][] = [
  [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'Hello there!' },
    { role: 'assistant', content: 'Hi, how can I help?' },
    { role: 'user', content: "What's 2 + 2?  And 🙂?" },
  ],
  [{ role: 'user', content: '' }],
  [
    { role: 'user', content: ' leading space' },
    { role: 'assistant', content: 'trailing newline\n' },
    { role: 'user', content: 'the the the' },
    { role: 'assistant', content: '4' },
  ],
];

describe('byte-level mapping', () => {
  it('maps the 256 bytes to distinct visible characters as GPT-2 does', () => {
    expect(new Set(byteToCharacter).size).toBe(256);
    expect(byteToCharacter[0x20]).toBe('Ġ');
    expect(byteToCharacter[0x0a]).toBe('Ċ');
    expect(byteToCharacter[0x41]).toBe('A');
    // Remapped bytes in order: 0x00-0x20 (33), 0x7f-0xa0 (34), then the soft hyphen 0xad is the 68th: U+0100 + 67.
    expect(byteToCharacter[0xad]).toBe('\u0143');
    const remapped = Array.from({ length: 256 }, (_, byte) => byte).filter(
      (byte) => byteToCharacter[byte] !== String.fromCharCode(byte),
    );
    expect(remapped.length).toBe(68);
    expect(remapped.map((byte) => byteToCharacter[byte]?.charCodeAt(0))).toEqual(
      Array.from({ length: 68 }, (_, index) => 256 + index),
    );
  });

  it("pre-tokenizes like GPT-2's pattern", () => {
    expect(byteLevelPreTokenize("Hi there!  It's 42")).toEqual([
      'Hi',
      'Ġthere',
      '!',
      'Ġ',
      'ĠIt',
      "'s",
      'Ġ42',
    ]);
  });
});

describe('trainBpeTokenizer', () => {
  it('puts special tokens at ids 0..3, bytes next, and learns frequent merges first', () => {
    expect(tokenizer.vocab.slice(0, 4)).toEqual([
      '<|endoftext|>',
      '<|im_start|>',
      '<|im_end|>',
      '<|pad|>',
    ]);
    expect(tokenizer.eosTokenId).toBe(0);
    expect(tokenizer.endOfTurnTokenId).toBe(2);
    expect(tokenizer.padTokenId).toBe(3);
    expect(tokenizer.vocab[4 + 0x41]).toBe('A');
    expect(tokenizer.vocabSize).toBe(300);
    expect(tokenizer.merges).toEqual(naiveMerges(corpus, 300 - 260));
    // With a larger budget training stops when no pair occurs twice, as the naive trainer does.
    const saturated = trainBpeTokenizer({ texts: corpus, vocabSize: 2000 });
    const allMerges = naiveMerges(corpus, 2000);
    expect(saturated.merges).toEqual(allMerges);
    expect(saturated.vocabSize).toBe(260 + new Set(allMerges.map(([a, b]) => a + b)).size);
    expect(tokenizer.encode(' the').length).toBe(1);
  });

  it('breaks ties by (left, right) order and counts pairs with their word frequency', () => {
    // "ab" x3 and "cd" x3 tie; "ab" sorts first. Then "cd" (3) beats "xy" (2); "xy" still reaches minFrequency 2.
    const small = trainBpeTokenizer({
      texts: ['cd ab cd ab cd ab xy xy'],
      vocabSize: 4 + 256 + 10,
    });
    expect(small.merges.slice(0, 2)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(small.merges.map(([a, b]) => a + b)).toContain('xy');
    expect(small.encode('ab cd').map((id) => small.vocab[id])).toEqual(['ab', 'Ġcd']);
    expect(small.decode(small.encode('ab cd xy'))).toBe('ab cd xy');
    const repeat = trainBpeTokenizer({ texts: ['aaaa aaaa'], vocabSize: 4 + 256 + 5 });
    expect(repeat.merges[0]).toEqual(['a', 'a']);
    expect(() => trainBpeTokenizer({ texts: [], vocabSize: 100 })).toThrow(/vocabSize = 100/);
    expect(() => trainBpeTokenizer({ texts: [], vocabSize: 100 })).toThrow(InvalidArgumentError);
  });

  it('keeps every digit its own token with individualDigits, and transformers.js encodes the same', () => {
    const hasDigit = (symbol: string) => /[0-9]/.test(symbol);
    expect(digits.merges).toEqual(
      naiveMerges(digitCorpus, 5000, (left, right) => !hasDigit(left) && !hasDigit(right)),
    );
    expect(digits.merges.some(([left, right]) => hasDigit(left + right))).toBe(false);
    // Without the option the same corpus merges digits ("A7746" repeats), so the option does something.
    const merged = trainBpeTokenizer({ texts: digitCorpus, vocabSize: 5000 });
    expect(merged.merges.some(([left, right]) => hasDigit(left + right))).toBe(true);
    const text = 'Refund A7746: $34.50 in 3 days, A90210 and 1e-5';
    const pieces = digits.encode(text).map((id) => digits.vocab[id] as string);
    for (const piece of pieces) if (hasDigit(piece)) expect(piece).toMatch(/^Ġ?[0-9]$/);
    expect(pieces.filter(hasDigit).length).toBe(text.replace(/[^0-9]/g, '').length);
    expectEncodesAsReference(digits, digitsReference, [...probes, ...digitCorpus, text]);
  });

  it('keeps spaces apart from words with separateSpaces, so a word is the same tokens after a space or a quote, and transformers.js encodes the same', () => {
    const hasDigit = (symbol: string) => /[0-9]/.test(symbol);
    const pairs: [string, string][] = [];
    for (let left = 0; left < 10; left++)
      for (let right = 0; right < 10; right++) pairs.push([String(left), String(right)]);
    expect(spaced.merges).toEqual(
      naiveMerges(
        digitCorpus,
        5100,
        (left, right) => !hasDigit(left) && !hasDigit(right),
        pairs,
        separateSpacesPreTokenizePattern(true),
      ),
    );
    const piecesOf = (text: string) => spaced.encode(text).map((id) => spaced.vocab[id] as string);
    // No token holds a space and anything else.
    for (const piece of spaced.vocab.slice(4))
      if (piece.includes('Ġ')) expect(piece).toMatch(/^Ġ+$/);
    // The email and the order id are the same tokens in a message and in a call's JSON.
    const email = piecesOf('yusuf.virtanen92@example.com');
    const inText = piecesOf('My email is yusuf.virtanen92@example.com and order A7746.');
    const inJson = piecesOf('{"email":"yusuf.virtanen92@example.com","order_id":"A7746"}');
    const contains = (haystack: string[], needle: string[]) =>
      haystack.some((_, start) => needle.every((piece, k) => haystack[start + k] === piece));
    expect(contains(inText, email)).toBe(true);
    expect(contains(inJson, email)).toBe(true);
    expect(contains(inText, ['A', '77', '46'])).toBe(true);
    expect(contains(inJson, ['A', '77', '46'])).toBe(true);
    // Without separateSpaces a word the corpus knows is other tokens after a space than after a quote.
    const gpt = (text: string) =>
      digitPairs.encode(text).map((id) => digitPairs.vocab[id] as string);
    expect(gpt(' again')).toEqual(['Ġagain']);
    expect(contains(gpt('"again"'), gpt(' again'))).toBe(false);
    expect(piecesOf(' again')).toEqual(['Ġ', 'again']);
    expect(contains(piecesOf('"again"'), ['again'])).toBe(true);
    expectEncodesAsReference(spaced, spacedReference, [
      ...probes,
      ...digitCorpus,
      'is yusuf.virtanen92@example.com  \n\n x',
    ]);
    const reloaded = BpeTokenizer.fromTokenizerJson(spaced.toTokenizerJson());
    expect(String(reloaded.preTokenizePattern)).toBe(
      String(separateSpacesPreTokenizePattern(true)),
    );
    expect(reloaded.encode(inJson.join(''))).toEqual(spaced.encode(inJson.join('')));
  });

  it('writes numbers in tokens of one or two digits with digitPairs, and transformers.js encodes the same', () => {
    const hasDigit = (symbol: string) => /[0-9]/.test(symbol);
    const pairs: [string, string][] = [];
    for (let left = 0; left < 10; left++)
      for (let right = 0; right < 10; right++) pairs.push([String(left), String(right)]);
    // The 100 digit pairs first, in order, then the same merges as without digits, learned on words whose digits are paired.
    expect(digitPairs.merges.slice(0, 100)).toEqual(pairs);
    expect(digitPairs.merges).toEqual(
      naiveMerges(
        digitCorpus,
        5100,
        (left, right) => !hasDigit(left) && !hasDigit(right),
        pairs,
        digitPairsPreTokenizePattern,
      ),
    );
    const text = 'Refund A7746: $34.50 in 3 days, A90210 and 1e-5';
    const pieces = digitPairs.encode(text).map((id) => digitPairs.vocab[id] as string);
    for (const piece of pieces) if (hasDigit(piece)) expect(piece).toMatch(/^[0-9]{1,2}$/);
    expect(pieces.filter(hasDigit).join('')).toBe(text.replace(/[^0-9]/g, ''));
    // Left to right, whatever the merges' ranks: 46 ranks before 77, and 02 before 90 and 21.
    expect(digitPairs.encode('A7746').map((id) => digitPairs.vocab[id])).toEqual(['A', '77', '46']);
    expect(digitPairs.encode('90210').map((id) => digitPairs.vocab[id])).toEqual(['90', '21', '0']);
    expect(digitPairs.encode(' 7 days').map((id) => digitPairs.vocab[id])).toEqual(
      digits.encode(' 7 days').map((id) => digits.vocab[id]),
    );
    expectEncodesAsReference(digitPairs, digitPairsReference, [...probes, ...digitCorpus, text]);
    // The pattern survives tokenizer.json.
    const reloaded = BpeTokenizer.fromTokenizerJson(digitPairs.toTokenizerJson());
    expect(reloaded.encode(text)).toEqual(digitPairs.encode(text));
    expect(String(reloaded.preTokenizePattern)).toBe(String(digitPairsPreTokenizePattern));
    expect(
      () =>
        new BpeTokenizer({
          vocab: digitPairs.vocab,
          merges: digitPairs.merges,
          specialTokens: digitPairs.specialTokens,
          preTokenizePattern: /\p{N}/u,
        }),
    ).toThrow(/preTokenizePattern.*flags gu/);
    expect(() =>
      trainBpeTokenizer({ texts: digitCorpus, vocabSize: 5000, digitPairs: true }),
    ).toThrow(/digitPairs/);
    expect(() =>
      trainBpeTokenizer({ texts: [], vocabSize: 300, individualDigits: true, digitPairs: true }),
    ).toThrow(/vocabSize = 300.*100 digit pairs/);
  });
});

describe('BpeTokenizer against transformers.js', () => {
  it('encodes exactly as AutoTokenizer on the written tokenizer.json', () => {
    for (const text of probes) {
      expect(tokenizer.encode(text), JSON.stringify(text)).toEqual(reference.encode(text));
    }
    expect(rich.vocabSize).toBeGreaterThan(400);
    for (const text of [...probes, ...corpus, ...corpus.map((line) => line.toUpperCase())]) {
      expect(rich.encode(text), JSON.stringify(text)).toEqual(richReference.encode(text));
    }
  });

  it('keeps the ids of segments it encoded: again, and after its cache was cleared, they are transformers.js ids', () => {
    const texts = conversations.map((messages) => tokenizer.renderChatTemplate(messages));
    const first = texts.map((text) => tokenizer.encode(text));
    const again = texts.map((text) => tokenizer.encode(text));
    // More distinct segments than the cache holds: it is cleared and refilled on the way.
    for (let index = 0; index < 1100; index++) tokenizer.encode(`segment ${index} <|im_end|>`);
    const afterClearing = texts.map((text) => tokenizer.encode(text));
    texts.forEach((text, index) => {
      expect(first[index]).toEqual(reference.encode(text));
      expect(again[index]).toEqual(first[index]);
      expect(afterClearing[index]).toEqual(first[index]);
    });
    // The caller's array is its own: changing it does not change the next encoding.
    first[0]?.push(99);
    expect(tokenizer.encode(texts[0] ?? '')).toEqual(reference.encode(texts[0] ?? ''));
  });

  it('decodes as transformers.js and round-trips decode(encode(x)) == x', () => {
    for (const text of [...probes, ...corpus]) {
      const ids = tokenizer.encode(text);
      expect(tokenizer.decode(ids)).toBe(text);
      if (ids.length === 0) continue; // transformers.js refuses to decode an empty list
      expect(tokenizer.decode(ids)).toBe(reference.decode(ids));
      expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe(
        reference.decode(ids, { skip_special_tokens: true }),
      );
    }
    // A split multi-byte character decodes to U+FFFD in both.
    const broken = tokenizer.encode('🙂').slice(0, 1);
    expect(tokenizer.decode(broken)).toBe(reference.decode(broken));
  });

  it('applies the chat template to the same ids as apply_chat_template, with and without a generation prompt', () => {
    for (const messages of conversations) {
      for (const addGenerationPrompt of [true, false]) {
        const expected = reference.apply_chat_template(
          messages as { role: string; content: string }[],
          {
            add_generation_prompt: addGenerationPrompt,
            tokenize: true,
            return_tensor: false,
            return_dict: false,
          },
        ) as number[];
        expect(tokenizer.applyChatTemplate(messages, { addGenerationPrompt })).toEqual(expected);
      }
    }
    expect(tokenizer.applyChatTemplate(conversations[1] ?? [])).toEqual(
      tokenizer.applyChatTemplate(conversations[1] ?? [], { addGenerationPrompt: true }),
    );
  });

  it('renders ChatML with the template prefix property', () => {
    const messages = conversations[0] ?? [];
    expect(
      tokenizer.decode(
        tokenizer.applyChatTemplate(messages.slice(0, 1), { addGenerationPrompt: true }),
      ),
    ).toBe('<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n');
    for (const conversation of conversations) {
      const full = tokenizer.applyChatTemplate(conversation, { addGenerationPrompt: false });
      for (let k = 0; k <= conversation.length; k++) {
        const prefix = tokenizer.applyChatTemplate(conversation.slice(0, k), {
          addGenerationPrompt: false,
        });
        expect(full.slice(0, prefix.length)).toEqual(prefix);
      }
    }
    expect(() =>
      tokenizer.applyChatTemplate([{ role: 'robot', content: 'x' } as unknown as Message]),
    ).toThrow(/messages\[0\]/);
  });

  it('writes the files transformers.js reads and loads them back', async () => {
    const config = JSON.parse(
      await readFile(path.join(directory, 'tiny-bpe', 'tokenizer_config.json'), 'utf8'),
    );
    expect(config.chat_template).toBe(chatMlJinjaTemplate);
    expect(config.eos_token).toBe('<|endoftext|>');
    const special = JSON.parse(
      await readFile(path.join(directory, 'tiny-bpe', 'special_tokens_map.json'), 'utf8'),
    );
    expect(special.pad_token).toBe('<|pad|>');
    const loaded = await loadBpeTokenizer(path.join(directory, 'tiny-bpe'));
    expect(loaded.vocab).toEqual(tokenizer.vocab);
    expect(loaded.merges).toEqual(tokenizer.merges);
    for (const text of probes) expect(loaded.encode(text)).toEqual(tokenizer.encode(text));
    // The newer [left, right] merge format reads the same.
    const json = tokenizer.toTokenizerJson() as { model: { merges: unknown } };
    json.model.merges = tokenizer.merges.map(([a, b]) => [a, b]);
    expect(BpeTokenizer.fromTokenizerJson(json).merges).toEqual(tokenizer.merges);
  });

  it('refuses bad ids and bad definitions, naming them', () => {
    expect(() => tokenizer.decode([1, 300])).toThrow(/tokenIds\[1\] = 300/);
    expect(() => tokenizer.decode([-1])).toThrow(InvalidArgumentError);
    expect(() => new BpeTokenizer({ vocab: ['a'], merges: [], specialTokens: [] })).toThrow(
      /lacks the byte-level token/,
    );
    expect(
      () => new BpeTokenizer({ vocab: [...byteToCharacter], merges: [], specialTokens: [] }),
    ).toThrow(/must include <\|endoftext\|>/);
    expect(() => BpeTokenizer.fromTokenizerJson({ model: { type: 'WordPiece' } })).toThrow(
      /tokenizer\.json/,
    );
  });
});
