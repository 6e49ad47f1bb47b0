import type { Featurizer } from '@cohort/core';
import { InvalidArgumentError, parseWithSchema } from '@cohort/core';
import { z } from 'zod';

/** Options of {@link createHashingFeaturizer}. */
export const HashingFeaturizerOptionsSchema = z
  .object({
    /** Length of every feature vector. */
    dimension: z.number().int().positive(),
    /** Also hash adjacent word pairs ("not good" differs from "good"). */
    bigrams: z.boolean().default(false),
    /** Give each word a hashed sign of +-1, so that collisions cancel on average instead of adding up. */
    signed: z.boolean().default(true),
  })
  .strict();

export type HashingFeaturizerOptionsInput = z.input<typeof HashingFeaturizerOptionsSchema>;

/** FNV-1a, 32 bits, over UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * A featurizer that needs no model: the hashing trick over lowercased words
 * (Weinberger et al. 2009, "Feature hashing for large scale multitask
 * learning"): `x[h(w) mod d] += s(w)` for every word `w` (and word pair, with
 * `bigrams`), with `h` the 32-bit FNV-1a hash and `s(w) = +-1` from its top
 * bit (`+1` when not `signed`), then `x / ||x||_2` (the zero vector stays
 * zero). Deterministic across runs and machines; a cheap stand-in for an
 * embedding model when features of words are enough.
 *
 * @example
 * ```ts
 * const featurizer = createHashingFeaturizer({ dimension: 64 });
 * const [features] = await featurizer.featurize(['Your refund is on its way.']); // 64 numbers, norm 1
 * ```
 */
export function createHashingFeaturizer(options: HashingFeaturizerOptionsInput): Featurizer {
  const { dimension, bigrams, signed } = parseWithSchema(
    HashingFeaturizerOptionsSchema,
    options,
    'hashing featurizer options',
  );
  const featurizeOne = (text: string): number[] => {
    const vector = new Array<number>(dimension).fill(0);
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    const tokens = bigrams
      ? [...words, ...words.slice(1).map((word, index) => `${words[index]} ${word}`)]
      : words;
    for (const token of tokens) {
      const hash = fnv1a(token);
      const sign = signed && hash >= 0x80000000 ? -1 : 1;
      vector[hash % dimension]! += sign;
    }
    const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
    return norm === 0 ? vector : vector.map((value) => value / norm);
  };
  return {
    name: `hashing-bag-of-words-${dimension}${bigrams ? '-bigrams' : ''}`,
    dimension,
    async featurize(texts) {
      if (!Array.isArray(texts)) {
        throw new InvalidArgumentError({
          argument: 'texts',
          value: texts,
          message: 'must be an array of strings',
        });
      }
      return texts.map((text, index) => {
        if (typeof text !== 'string') {
          throw new InvalidArgumentError({
            argument: `texts[${index}]`,
            value: text,
            message: 'must be a string',
          });
        }
        return featurizeOne(text);
      });
    },
  };
}
