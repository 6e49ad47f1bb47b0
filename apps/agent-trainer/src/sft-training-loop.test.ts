import { Random } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { lengthGroupedOrder } from './sft-training-loop';

describe('lengthGroupedOrder', () => {
  it('visits every example once per pass in batches of similar length, in a seeded random order', () => {
    const random = new Random(5);
    const lengths = Array.from({ length: 300 }, () => random.int(100, 900));
    const batchSize = 4;
    const order = lengthGroupedOrder(lengths, batchSize, new Random(7));
    expect([...order].sort((a, b) => a - b)).toEqual(lengths.map((_, index) => index));
    expect(lengthGroupedOrder(lengths, batchSize, new Random(7))).toEqual(order);
    expect(lengthGroupedOrder(lengths, batchSize, new Random(8))).not.toEqual(order);
    // Padding per batch (longest minus each) against batches of a plain shuffle.
    const padding = (rows: number[]) => {
      let total = 0;
      for (let start = 0; start < rows.length; start += batchSize) {
        const batch = rows.slice(start, start + batchSize).map((row) => lengths[row] as number);
        total += batch.reduce((sum, length) => sum + Math.max(...batch) - length, 0);
      }
      return total;
    };
    const shuffled = new Random(7).shuffle(lengths.map((_, index) => index));
    expect(padding(order)).toBeLessThan(padding(shuffled) / 5);
    // Batches are not sorted by length overall: the first ten batches' longest lengths are not monotonic.
    const heads = Array.from(
      { length: 10 },
      (_, index) => lengths[order[index * batchSize] as number],
    );
    const sortedHeads = [...heads].sort((a, b) => (b as number) - (a as number));
    expect(heads).not.toEqual(sortedHeads);
  });
});
