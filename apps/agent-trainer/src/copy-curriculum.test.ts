import { Random } from '@cohort/core';
import { trainBpeTokenizer } from '@cohort/tfjs';
import { describe, expect, it } from 'vitest';
import { copyCurriculumExample, copyCurriculumPieces } from './copy-curriculum';

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
      /writes "0123456789" as [1-9] tokens, not one per digit; train it with individualDigits/,
    );
  });
});
