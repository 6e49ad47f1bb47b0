import { InvalidArgumentError, NonFiniteError, Random } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { parameterVectorGenome } from './parameter-vector-genome';
import {
  euclideanDistance,
  gaussianMutation,
  rowWiseCrossover,
  uniformCrossover,
} from './vector-operators';

describe('gaussianMutation', () => {
  it('perturbs genes at the configured rate, with large mutations at theirs', () => {
    const length = 40_000;
    const parent = new Float32Array(length);
    const child = gaussianMutation(
      parent,
      {
        geneProbability: 0.3,
        standardDeviation: 0.01,
        largeMutationProbability: 0.2,
        largeMutationScale: 1000,
      },
      new Random(7),
    );
    const changed = child.filter((value) => value !== 0);
    // Binomial(40000, 0.3): sd = 0.0023; 0.01 is more than 4 sd.
    expect(changed.length / length).toBeGreaterThan(0.29);
    expect(changed.length / length).toBeLessThan(0.31);
    // Ordinary perturbations have |eps| < 0.05 (5 sd) with overwhelming probability;
    // large ones (sd 10) fall outside that with probability 0.996.
    const large = changed.filter((value) => Math.abs(value) > 0.05).length;
    expect(large / changed.length).toBeGreaterThan(0.2 * 0.996 - 0.02);
    expect(large / changed.length).toBeLessThan(0.2 * 0.996 + 0.02);
    // The ordinary ones have the configured spread.
    const small = changed.filter((value) => Math.abs(value) <= 0.05);
    const variance = small.reduce((sum, value) => sum + value * value, 0) / small.length;
    expect(Math.sqrt(variance)).toBeCloseTo(0.01, 3);
    expect(parent.every((value) => value === 0)).toBe(true);
  });

  it('changes nothing with probability 0 and clamps to the maximum magnitude', () => {
    const parent = Float32Array.from([1, -2, 3]);
    expect(gaussianMutation(parent, { geneProbability: 0 }, new Random(1))).toEqual(parent);
    const clamped = gaussianMutation(
      parent,
      { geneProbability: 1, standardDeviation: 100, maximumMagnitude: 0.5 },
      new Random(1),
    );
    expect(clamped.every((value) => Math.abs(value) <= 0.5)).toBe(true);
  });

  it('is deterministic for a seed', () => {
    const parent = new Float32Array(64).fill(0.5);
    const first = gaussianMutation(parent, { geneProbability: 0.5 }, new Random(3));
    const second = gaussianMutation(parent, { geneProbability: 0.5 }, new Random(3));
    expect(first).toEqual(second);
  });

  it('rejects NaN weights and bad options with typed errors', () => {
    expect(() =>
      gaussianMutation(Float32Array.from([0, Number.NaN]), {}, new Random(0)),
    ).toThrowError(/values\[1\]/);
    expect(() => gaussianMutation(new Float32Array(2), {}, new Random(0))).not.toThrow();
    try {
      gaussianMutation(new Float32Array(2), { geneProbability: 1.5 }, new Random(0));
      expect.unreachable();
    } catch (error) {
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe('geneProbability');
    }
    expect(
      NonFiniteError.isInstance(
        catchError(() =>
          gaussianMutation(Float32Array.from([Number.POSITIVE_INFINITY]), {}, new Random(0)),
        ),
      ),
    ).toBe(true);
  });
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('uniformCrossover', () => {
  it('takes every gene from one of the parents, about half from each', () => {
    const length = 10_000;
    const first = Float32Array.from({ length }, (_, index) => index);
    const second = Float32Array.from({ length }, (_, index) => -index - 1);
    const child = uniformCrossover(first, second, new Random(11));
    let fromFirst = 0;
    for (let index = 0; index < length; index++) {
      const gene = child[index]!;
      expect(gene === first[index] || gene === second[index]).toBe(true);
      if (gene === first[index]) fromFirst++;
    }
    // Binomial(10000, 0.5): sd = 0.005.
    expect(Math.abs(fromFirst / length - 0.5)).toBeLessThan(0.025);
  });

  it('rejects parents of different lengths', () => {
    expect(() => uniformCrossover(new Float32Array(2), new Float32Array(3), new Random(0))).toThrow(
      /second.length = 3/,
    );
  });
});

describe('rowWiseCrossover', () => {
  it('copies whole rows, taking rows from both parents', () => {
    const shapes = [
      { rows: 50, columns: 4 },
      { rows: 1, columns: 7 },
      { rows: 30, columns: 3 },
    ];
    const length = 50 * 4 + 7 + 30 * 3;
    const first = Float32Array.from({ length }, (_, index) => index + 1);
    const second = Float32Array.from({ length }, (_, index) => -(index + 1));
    const child = rowWiseCrossover(first, second, shapes, new Random(5));
    let offset = 0;
    const sources: string[] = [];
    for (const shape of shapes) {
      for (let row = 0; row < shape.rows; row++) {
        const slice = Array.from(child.subarray(offset, offset + shape.columns));
        const fromFirst = slice.every((value, column) => value === first[offset + column]);
        const fromSecond = slice.every((value, column) => value === second[offset + column]);
        expect(fromFirst || fromSecond).toBe(true);
        sources.push(fromFirst ? 'first' : 'second');
        offset += shape.columns;
      }
    }
    expect(sources).toContain('first');
    expect(sources).toContain('second');
  });

  it('rejects shapes that do not tile the vector', () => {
    expect(() =>
      rowWiseCrossover(
        new Float32Array(6),
        new Float32Array(6),
        [{ rows: 2, columns: 2 }],
        new Random(0),
      ),
    ).toThrow(/rowShapes = "2x2": cover 4 weights, but the vector has 6/);
    expect(() =>
      rowWiseCrossover(
        new Float32Array(6),
        new Float32Array(6),
        [{ rows: 0, columns: 6 }],
        new Random(0),
      ),
    ).toThrow(/rowShapes\[0\].rows/);
  });
});

describe('euclideanDistance', () => {
  it('matches hand-computed values', () => {
    expect(euclideanDistance([0, 0], [3, 4])).toBe(5);
    expect(euclideanDistance([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(euclideanDistance([], [])).toBe(0);
    expect(euclideanDistance([1e20, 0], [0, 0])).toBe(1e20);
  });
});

describe('parameterVectorGenome', () => {
  it('uses row-wise crossover when asked and validates values', async () => {
    const kind = parameterVectorGenome({
      crossover: 'row-wise',
      rowShapes: [{ rows: 2, columns: 2 }],
      length: 4,
    });
    const child = await kind.operators.crossover!(
      Float32Array.from([1, 2, 3, 4]),
      Float32Array.from([5, 6, 7, 8]),
      new Random(0),
    );
    expect([
      [1, 2],
      [5, 6],
    ]).toContainEqual(Array.from(child.subarray(0, 2)));
    expect([
      [3, 4],
      [7, 8],
    ]).toContainEqual(Array.from(child.subarray(2, 4)));
    expect(() => kind.validate!('value', new Float32Array(3))).toThrow(/value.length = 3/);
    expect(() => parameterVectorGenome({ crossover: 'row-wise' })).toThrow(/rowShapes/);
    expect(
      kind.operators.distance!(Float32Array.from([0, 0, 0, 0]), Float32Array.from([1, 1, 1, 1])),
    ).toBe(2);
  });
});
