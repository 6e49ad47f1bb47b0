import { describe, expect, it } from 'vitest';
import { BaseLogitsCache } from './base-logits-cache';

const rows = (length: number, fill: number) =>
  new Float32Array(Math.max(0, length - 1) * 2).fill(fill);

describe('BaseLogitsCache', () => {
  it('serves a sequence and its prefixes, not a longer or different one', () => {
    const cache = new BaseLogitsCache({ maxBytes: 1024, vocabSize: 2 });
    const logits = Float32Array.from([1, 2, 3, 4, 5, 6]);
    cache.set([7, 8, 9, 10], logits);
    expect(Array.from(cache.get([7, 8, 9, 10]) ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(cache.get([7, 8]) ?? [])).toEqual([1, 2]);
    expect(Array.from(cache.get([7]) ?? [])).toEqual([]);
    expect(cache.get([7, 8, 9, 10, 11])).toBeUndefined();
    expect(cache.get([7, 9])).toBeUndefined();
  });

  it('evicts least recently used entries past maxBytes and skips entries larger than it', () => {
    // Each 3-token entry holds 2 x 2 floats = 16 bytes; room for two.
    const cache = new BaseLogitsCache({ maxBytes: 32, vocabSize: 2 });
    cache.set([1, 1, 1], rows(3, 1));
    cache.set([2, 2, 2], rows(3, 2));
    cache.get([1, 1, 1]); // 1 is now the most recent
    cache.set([3, 3, 3], rows(3, 3));
    expect(cache.count).toBe(2);
    expect(cache.size).toBe(32);
    expect(cache.get([2, 2, 2])).toBeUndefined();
    expect(cache.get([1, 1, 1])?.[0]).toBe(1);
    cache.set([4, 4, 4, 4, 4], rows(5, 4)); // 32 bytes: fits alone
    expect(cache.count).toBe(1);
    cache.set([5, 5, 5, 5, 5, 5], rows(6, 5)); // 40 bytes: never stored
    expect(cache.get([5, 5, 5, 5, 5, 5])).toBeUndefined();
    expect(cache.count).toBe(1);
    cache.set([4, 4, 4, 4, 4], rows(5, 6)); // replacing an entry keeps the byte count right
    expect(cache.size).toBe(32);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('refuses too few logits and a bad budget, naming them', () => {
    expect(() => new BaseLogitsCache({ maxBytes: Number.NaN, vocabSize: 2 })).toThrow(
      /maxBytes = NaN/,
    );
    const cache = new BaseLogitsCache({ maxBytes: 64, vocabSize: 2 });
    expect(() => cache.set([1, 2, 3], new Float32Array(3))).toThrow(/logits\.length = 3/);
  });
});
