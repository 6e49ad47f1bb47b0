import { InvalidArgumentError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { fitnessInterval, normalQuantile } from './fitness-interval';

// Reference values from Python's statistics.NormalDist (float64) and the Wilson formula written out by hand.
describe('fitnessInterval', () => {
  it('is the Wilson score interval for a success rate', () => {
    const interval = fitnessInterval({ mean: 0.7, count: 10 });
    expect(interval.method).toBe('wilson');
    expect(interval.lower).toBeCloseTo(0.39677814746114537, 9);
    expect(interval.upper).toBeCloseTo(0.8922087325936989, 9);
    const ninety = fitnessInterval({ mean: 0.25, count: 20, confidence: 0.9 });
    expect(ninety.lower).toBeCloseTo(0.1273771685203578, 9);
    expect(ninety.upper).toBeCloseTo(0.43220175016012446, 9);
  });

  it('stays inside [0, 1] and keeps a width at 0 and 1', () => {
    expect(fitnessInterval({ mean: 0, count: 8 })).toMatchObject({ lower: 0 });
    expect(fitnessInterval({ mean: 0, count: 8 }).upper).toBeCloseTo(0.3244075648838801, 9);
    expect(fitnessInterval({ mean: 1, count: 8 }).lower).toBeCloseTo(0.6755924351161198, 9);
    expect(fitnessInterval({ mean: 1, count: 8 }).upper).toBe(1);
  });

  it('is the normal interval given a standard deviation', () => {
    const interval = fitnessInterval({ mean: 0.5, count: 16, standardDeviation: 0.2 });
    expect(interval.method).toBe('normal');
    expect(interval.lower).toBeCloseTo(0.4020018007729973, 9);
    expect(interval.upper).toBeCloseTo(0.5979981992270027, 9);
    expect(fitnessInterval({ mean: 3, count: 1, standardDeviation: 0 })).toMatchObject({
      lower: 3,
      upper: 3,
    });
  });

  it('names the bad field', () => {
    expect(() => fitnessInterval({ mean: 0.5, count: 0 })).toThrow(/count/);
    expect(() => fitnessInterval({ mean: 1.5, count: 4 })).toThrow(/mean.*1\.5/);
    expect(() => fitnessInterval({ mean: 0.5, count: 4, confidence: 1 })).toThrow(/confidence/);
    expect(() => fitnessInterval({ mean: 0.5, count: 4, standardDeviation: -1 })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('normalQuantile', () => {
  it('matches float64 reference quantiles in the center and both tails', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.9599639845400536, 8);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.3263478740408408, 8);
    expect(normalQuantile(0.999)).toBeCloseTo(3.090232306167813, 8);
    expect(normalQuantile(0.5)).toBe(0);
    expect(() => normalQuantile(0)).toThrow(/probability/);
  });
});
