import { InvalidArgumentError, parseWithSchema } from '@cohort/core';
import { z } from 'zod';
import { BpeTokenizer, standardSpecialTokens } from './bpe-tokenizer';
import {
  byteLevelPreTokenize,
  byteToCharacter,
  digitPairsPreTokenizePattern,
  separateSpacesPreTokenizePattern,
} from './byte-level';

/** Options of {@link trainBpeTokenizer}. */
export const TrainBpeTokenizerOptionsSchema = z
  .object({
    /** Training corpus. */
    texts: z.array(z.string()),
    /** Largest vocabulary: special tokens + 256 byte tokens + merges. Training stops earlier when no pair is frequent enough. */
    vocabSize: z.number().int().positive(),
    /** Special tokens besides `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` and `<|pad|>`, which are always ids 0 to 3. */
    specialTokens: z.array(z.string().min(1)).default([]),
    /** A pair must occur at least this often to be merged. Default 2. */
    minFrequency: z.number().int().positive().default(2),
    /**
     * Never merge a digit with anything, so every digit stays its own token
     * (as the SmolLM and Llama tokenizers split numbers): a model then copies
     * an unseen number digit by digit instead of needing a token for it.
     * Encoding needs nothing else, since no merge holds a digit. Default false.
     */
    individualDigits: z.boolean().default(false),
    /**
     * With `individualDigits`: numbers are cut into pieces of one or two
     * digits, left to right (`digitPairsPreTokenizePattern`), the first 100
     * merges join any two digits (`0 0` to `9 9`), and nothing else ever
     * merges with a digit, so every 4-digit number is two tokens (as Llama 3
     * writes numbers in tokens of up to three). A copied number then
     * takes half the tokens, and a two-digit token recurs in a dialogue far
     * less often than a digit does, so an induction head that keys on the
     * previous token finds the copied number with fewer false matches.
     * Default false.
     */
    digitPairs: z.boolean().default(false),
    /**
     * Words and symbols never take a leading space: every whitespace run is
     * a token of its own (`separateSpacesPreTokenizePattern`), so a word is
     * the same tokens after a space in text and after a quote in JSON, and a
     * name copied from a message into a tool call is a copy. Sequences grow
     * by about one token per word. Default false.
     */
    separateSpaces: z.boolean().default(false),
  })
  .strict()
  .refine((options) => !options.digitPairs || options.individualDigits, {
    message: 'digitPairs needs individualDigits: true',
    path: ['digitPairs'],
  });

export type TrainBpeTokenizerOptions = z.input<typeof TrainBpeTokenizerOptionsSchema>;

/** ASCII digits are printable bytes, so byte-level symbols write them as themselves. */
const isDigitSymbol = (symbol: string) => /[0-9]/.test(symbol);

interface Word {
  symbols: string[];
  count: number;
}

/**
 * Learns a byte-level BPE tokenizer (Sennrich et al. 2016, "Neural Machine
 * Translation of Rare Words with Subword Units", algorithm 1, over GPT-2's
 * byte-level pre-tokenized words, Radford et al. 2019).
 *
 * The vocabulary starts as the special tokens (ids 0..S-1: `<|endoftext|>`,
 * `<|im_start|>`, `<|im_end|>`, `<|pad|>`, then `specialTokens`) and the 256
 * byte tokens in byte order (ids S..S+255). Then, until `vocabSize` tokens,
 * the most frequent adjacent pair over all words (weighted by word count) is
 * merged everywhere; ties go to the pair that sorts first as (left, right)
 * strings, so training is deterministic and needs no seed. Special-token
 * texts in the corpus are never merged across; with `individualDigits`, no
 * pair that holds a digit is ever merged.
 *
 * @example
 * ```ts
 * const tokenizer = trainBpeTokenizer({ texts: ['the cat sat on the mat'], vocabSize: 270 });
 * tokenizer.encode('the mat'); // fewer ids than bytes
 * ```
 */
export function trainBpeTokenizer(options: TrainBpeTokenizerOptions): BpeTokenizer {
  const {
    texts,
    vocabSize,
    specialTokens: extra,
    minFrequency,
    individualDigits,
    digitPairs,
    separateSpaces,
  } = parseWithSchema(TrainBpeTokenizerOptionsSchema, options, 'trainBpeTokenizer options');
  const specialTokens = [
    ...Object.values(standardSpecialTokens),
    ...extra.filter((token) => !Object.values<string>(standardSpecialTokens).includes(token)),
  ];
  const minimum = specialTokens.length + 256 + (digitPairs ? 100 : 0);
  if (vocabSize < minimum) {
    throw new InvalidArgumentError({
      argument: 'vocabSize',
      value: vocabSize,
      message: `must be at least ${minimum} (special tokens plus 256 byte tokens${digitPairs ? ' plus 100 digit pairs' : ''})`,
    });
  }
  const vocab = [...specialTokens, ...byteToCharacter];
  const known = new Set(vocab);

  const splitter = new RegExp(
    specialTokens.map((token) => token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
  );
  const pattern = separateSpaces
    ? separateSpacesPreTokenizePattern(digitPairs)
    : digitPairs
      ? digitPairsPreTokenizePattern
      : undefined;
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const segment of text.split(splitter)) {
      for (const piece of byteLevelPreTokenize(segment, pattern))
        wordCounts.set(piece, (wordCounts.get(piece) ?? 0) + 1);
    }
  }
  const merges: [string, string][] = [];
  if (digitPairs) {
    for (let left = 0; left < 10; left++) {
      for (let right = 0; right < 10; right++) {
        merges.push([String(left), String(right)]);
        known.add(`${left}${right}`);
        vocab.push(`${left}${right}`);
      }
    }
  }
  // The pattern cuts numbers into pieces of at most two digits, so a two-digit piece is one merge and nothing merges further.
  const words: Word[] = [...wordCounts.entries()].map(([piece, count]) => ({
    symbols: digitPairs && /^[0-9]{2}$/.test(piece) ? [piece] : Array.from(piece),
    count,
  }));

  // Pair counts and, for each pair, the words that hold it; updated incrementally after each merge.
  const pairCounts = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const addPairs = (wordIndex: number, sign: 1 | -1) => {
    const word = words[wordIndex] as Word;
    for (let index = 0; index + 1 < word.symbols.length; index++) {
      if (
        individualDigits &&
        (isDigitSymbol(word.symbols[index] as string) ||
          isDigitSymbol(word.symbols[index + 1] as string))
      )
        continue;
      const key = `${word.symbols[index]} ${word.symbols[index + 1]}`;
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * word.count);
      if (sign === 1) {
        let holders = pairWords.get(key);
        if (holders === undefined) {
          holders = new Set();
          pairWords.set(key, holders);
        }
        holders.add(wordIndex);
      }
    }
  };
  words.forEach((_, index) => {
    addPairs(index, 1);
  });

  while (vocab.length < vocabSize) {
    let bestKey: string | undefined;
    let bestCount = 0;
    for (const [key, count] of pairCounts) {
      // A space sorts below every byte-level character, so comparing "a b" keys compares (a, b) pairs.
      if (count > bestCount || (count === bestCount && bestKey !== undefined && key < bestKey)) {
        bestKey = key;
        bestCount = count;
      }
    }
    if (bestKey === undefined || bestCount < minFrequency) break;
    const [left = '', right = ''] = bestKey.split(' ');
    merges.push([left, right]);
    const mergedToken = left + right;
    if (!known.has(mergedToken)) {
      known.add(mergedToken);
      vocab.push(mergedToken);
    }
    const holders = [...(pairWords.get(bestKey) ?? [])];
    pairWords.delete(bestKey);
    for (const wordIndex of holders) {
      const word = words[wordIndex] as Word;
      addPairs(wordIndex, -1);
      const merged: string[] = [];
      for (let index = 0; index < word.symbols.length; index++) {
        if (
          index + 1 < word.symbols.length &&
          word.symbols[index] === left &&
          word.symbols[index + 1] === right
        ) {
          merged.push(mergedToken);
          index++;
        } else {
          merged.push(word.symbols[index] as string);
        }
      }
      word.symbols = merged;
      addPairs(wordIndex, 1);
    }
    for (const [key, count] of pairCounts) if (count <= 0) pairCounts.delete(key);
  }
  return new BpeTokenizer({
    vocab,
    merges,
    specialTokens,
    ...(pattern ? { preTokenizePattern: pattern } : {}),
  });
}
