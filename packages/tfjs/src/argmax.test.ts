import { describe, expect, it } from 'vitest';
import { argmax } from './argmax';

describe('argmax', () => {
  it('gives the first index of the largest value', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax(new Float64Array([-5, -1, -3]))).toBe(1);
    expect(argmax([7])).toBe(0);
    expect(argmax([-Infinity, 2, Infinity])).toBe(2);
  });

  it('gives 0 for an empty array and skips NaN, which compares false', () => {
    expect(argmax([])).toBe(0);
    expect(argmax([0, Number.NaN, 1])).toBe(2);
  });
});
