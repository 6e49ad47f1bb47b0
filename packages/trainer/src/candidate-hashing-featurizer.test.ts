import { ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { createHashingFeaturizer } from './candidate-hashing-featurizer';

/** FNV-1a 32-bit, written with BigInt arithmetic (an independent implementation). */
function fnv(text: string): number {
  let hash = 2166136261n;
  for (const character of text) {
    hash ^= BigInt(character.charCodeAt(0));
    hash = (hash * 16777619n) % 4294967296n;
  }
  return Number(hash);
}

describe('createHashingFeaturizer', () => {
  it('hashes words into signed buckets and normalizes, as computed by hand', async () => {
    const featurizer = createHashingFeaturizer({ dimension: 16 });
    expect(featurizer.dimension).toBe(16);
    // The published FNV-1a test vector: "a" -> 0xe40c292c.
    expect(fnv('a')).toBe(0xe40c292c);
    const [vector] = await featurizer.featurize(['Refund the ORDER, refund!']);
    const expected = new Array<number>(16).fill(0);
    for (const word of ['refund', 'the', 'order', 'refund']) {
      const hash = fnv(word);
      expected[hash % 16]! += hash >= 2 ** 31 ? -1 : 1;
    }
    const norm = Math.hypot(...expected);
    vector!.forEach((value, index) => {
      expect(value).toBeCloseTo(expected[index]! / norm, 12);
    });
    expect(Math.hypot(...vector!)).toBeCloseTo(1, 12);
  });

  it('counts bigrams when asked, and only adds with signed: false', async () => {
    const unsigned = createHashingFeaturizer({ dimension: 8, signed: false, bigrams: true });
    const [vector] = await unsigned.featurize(['not good']);
    const expected = new Array<number>(8).fill(0);
    for (const token of ['not', 'good', 'not good']) expected[fnv(token) % 8]! += 1;
    const norm = Math.hypot(...expected);
    vector!.forEach((value, index) => {
      expect(value).toBeCloseTo(expected[index]! / norm, 12);
    });
    expect(vector!.every((value) => value >= 0)).toBe(true);
  });

  it('is deterministic, keeps empty text at zero and one vector per text', async () => {
    const featurizer = createHashingFeaturizer({ dimension: 32 });
    const texts = ['Hello there', '', '!!!', 'hello THERE'];
    const [a, empty, punctuation, b] = await featurizer.featurize(texts);
    expect(a).toEqual(b);
    expect(empty).toEqual(new Array(32).fill(0));
    expect(punctuation).toEqual(new Array(32).fill(0));
    expect(await featurizer.featurize([])).toEqual([]);
  });

  it('names bad options and inputs', async () => {
    expect(() => createHashingFeaturizer({ dimension: 0 })).toThrow(ValidationError);
    expect(() => createHashingFeaturizer({ dimension: 1.5 })).toThrow(/dimension/);
    const featurizer = createHashingFeaturizer({ dimension: 4 });
    await expect(featurizer.featurize(['ok', 3 as never])).rejects.toThrow(/texts\[1\]/);
  });
});
