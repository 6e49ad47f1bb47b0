import { Random } from '@cohort/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hyperparameterGenome, perturbHyperparameters } from './hyperparameter-genome';
import {
  defaultHyperparameterSpace,
  type HyperparameterSpace,
  hyperparameterDistance,
  sampleHyperparameters,
} from './hyperparameter-space';

const space: HyperparameterSpace = {
  ...defaultHyperparameterSpace,
  groupSize: { minimum: 2, maximum: 16, integer: true },
};

describe('hyperparameterGenome', () => {
  it('keeps every parameter within its bounds under mutation and crossover (property)', async () => {
    const kind = hyperparameterGenome({
      space,
      resampleProbability: 0.3,
      perturbationFactors: [0.5, 2],
    });
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.integer({ min: 1, max: 20 }), async (seed, steps) => {
        const random = new Random(seed);
        let value = sampleHyperparameters(space, random);
        let other = sampleHyperparameters(space, random);
        for (let step = 0; step < steps; step++) {
          value = await kind.operators.mutate(value, random);
          other = await kind.operators.crossover!(value, other, random);
          for (const candidate of [value, other]) {
            kind.validate!('value', candidate);
            expect(Number.isInteger(candidate.groupSize)).toBe(true);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('perturbs by one of the factors when not resampling (PBT explore)', () => {
    const options = { space: { x: { minimum: 0, maximum: 100 } }, resampleProbability: 0 };
    const random = new Random(2);
    const seen = new Set<number>();
    for (let trial = 0; trial < 200; trial++) {
      const next = perturbHyperparameters(options, { x: 10 }, random);
      seen.add(Math.round(next.x! * 1e9) / 1e9);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([8, 12]);
  });

  it('resamples from the prior at the configured rate', () => {
    const options = {
      space: { x: { minimum: 1, maximum: 2 } },
      resampleProbability: 0.25,
      perturbationFactors: [1],
    };
    const random = new Random(3);
    const trials = 8000;
    let resampled = 0;
    for (let trial = 0; trial < trials; trial++) {
      if (perturbHyperparameters(options, { x: 1.5 }, random).x !== 1.5) resampled++;
    }
    // Binomial(8000, 0.25): sd = 0.0048.
    expect(Math.abs(resampled / trials - 0.25)).toBeLessThan(0.02);
  });

  it('samples log-scale parameters log-uniformly', () => {
    const random = new Random(4);
    const logs: number[] = [];
    for (let trial = 0; trial < 4000; trial++) {
      logs.push(
        Math.log10(
          sampleHyperparameters({ lr: { minimum: 1e-6, maximum: 1e-2, logScale: true } }, random)
            .lr!,
        ),
      );
    }
    const mean = logs.reduce((sum, value) => sum + value, 0) / logs.length;
    // Uniform on [-6, -2]: mean -4, sd 1.155, so the sample mean has sd 0.018.
    expect(Math.abs(mean + 4)).toBeLessThan(0.08);
    expect(logs.filter((value) => value < -5).length / logs.length).toBeCloseTo(0.25, 1);
  });

  it('measures normalized log distance by hand', () => {
    const twoParameters: HyperparameterSpace = {
      lr: { minimum: 1e-4, maximum: 1e-2, logScale: true },
      clip: { minimum: 0, maximum: 0.5 },
    };
    // lr: |ln 1e-4 - ln 1e-3| / (ln 1e-2 - ln 1e-4) = 0.5; clip: 0.1 / 0.5 = 0.2.
    expect(
      hyperparameterDistance(twoParameters, { lr: 1e-4, clip: 0.1 }, { lr: 1e-3, clip: 0.2 }),
    ).toBeCloseTo(0.35, 12);
    expect(
      hyperparameterDistance(twoParameters, { lr: 1e-3, clip: 0.1 }, { lr: 1e-3, clip: 0.1 }),
    ).toBe(0);
  });

  it('rejects bad spaces and factors, naming the field', () => {
    expect(() =>
      hyperparameterGenome({ space: { lr: { minimum: 0, maximum: 1, logScale: true } } }),
    ).toThrow(/space.lr.minimum = 0/);
    expect(() => hyperparameterGenome({ space: { x: { minimum: 1, maximum: 1 } } })).toThrow(
      /space.x.maximum = 1/,
    );
    expect(() => hyperparameterGenome({ space, perturbationFactors: [0.8, -1] })).toThrow(
      /perturbationFactors\[1\] = -1/,
    );
    expect(() => hyperparameterGenome({ space: {} })).toThrow(/space/);
    const kind = hyperparameterGenome({ space });
    expect(() =>
      kind.validate!('value', { ...sampleHyperparameters(space, new Random(0)), clipRange: 2 }),
    ).toThrow(/value.clipRange = 2/);
  });
});
