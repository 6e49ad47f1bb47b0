import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors';
import { Random } from './random';

describe('Random', () => {
  it('matches xoshiro128** computed by hand from the state [1, 2, 3, 4]', () => {
    // result = rotl(s1 * 5, 7) * 9, then the xoshiro128 state update, worked by hand:
    // step 1: s1 = 2 -> 11520; state becomes [7, 0, 1026, 12288]
    // step 2: s1 = 0 -> 0; state becomes [12295, 1029, 1029, 25165824]
    // step 3: s1 = 1029 -> rotl(5145, 7) * 9 = 658560 * 9 = 5927040
    const random = Random.fromWords([1, 2, 3, 4]);
    expect([random.nextUint32(), random.nextUint32(), random.nextUint32()]).toEqual([
      11520, 0, 5927040,
    ]);
  });

  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const draw = (seed: number | string) => {
      const random = new Random(seed);
      return Array.from({ length: 16 }, () => random.nextUint32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw('run-a')).toEqual(draw('run-a'));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(0)).not.toEqual(draw(2 ** 32));
    expect(draw('run-a')).not.toEqual(draw('run-b'));
  });

  it('restores its exact state, including a cached normal deviate', () => {
    const random = new Random(7);
    random.normal();
    const saved = JSON.parse(JSON.stringify(random.getState()));
    const expected = [random.normal(), random.float(), random.int(0, 1000)];
    const restored = Random.fromState(saved);
    expect([restored.normal(), restored.float(), restored.int(0, 1000)]).toEqual(expected);
  });

  it('forks independent streams without advancing the parent', () => {
    const parent = new Random(1);
    const before = parent.getState();
    const first = parent.fork('rollouts');
    const second = parent.fork('evaluation');
    expect(parent.getState()).toEqual(before);
    expect(first.nextUint32()).not.toEqual(second.nextUint32());
    expect(new Random(1).fork('rollouts').nextUint32()).toEqual(
      new Random(1).fork('rollouts').nextUint32(),
    );
  });

  it('draws uniform floats and integers with the right moments', () => {
    const random = new Random(123);
    const count = 200_000;
    let sum = 0;
    let sumSquares = 0;
    const counts = new Array(6).fill(0);
    let minimum = 1;
    let maximum = 0;
    for (let index = 0; index < count; index++) {
      const value = random.float();
      minimum = Math.min(minimum, value);
      maximum = Math.max(maximum, value);
      sum += value;
      sumSquares += value * value;
      counts[random.int(0, 6)]++;
    }
    expect(minimum).toBeGreaterThanOrEqual(0);
    expect(maximum).toBeLessThan(1);
    // Mean 1/2 and variance 1/12; standard errors are about 6.5e-4 and 1.9e-4.
    expect(Math.abs(sum / count - 0.5)).toBeLessThan(0.004);
    expect(Math.abs(sumSquares / count - (sum / count) ** 2 - 1 / 12)).toBeLessThan(0.002);
    for (const bucket of counts) expect(Math.abs(bucket / count - 1 / 6)).toBeLessThan(0.005);
  });

  it('draws normals with mean 0 and variance 1', () => {
    const random = new Random(5);
    const count = 100_000;
    let sum = 0;
    let sumSquares = 0;
    for (let index = 0; index < count; index++) {
      const value = random.normal();
      sum += value;
      sumSquares += value * value;
    }
    expect(Math.abs(sum / count)).toBeLessThan(0.02);
    expect(Math.abs(sumSquares / count - 1)).toBeLessThan(0.03);
  });

  it('samples categories in proportion to their weights', () => {
    const random = new Random(9);
    const counts = [0, 0, 0];
    for (let index = 0; index < 60_000; index++) counts[random.categorical([1, 0, 3])]!++;
    expect(counts[1]).toBe(0);
    expect(Math.abs(counts[0]! / 60_000 - 0.25)).toBeLessThan(0.01);
  });

  it('shuffles into a permutation and samples distinct items', () => {
    const random = new Random(3);
    const items = Array.from({ length: 20 }, (_, index) => index);
    expect([...random.shuffle(items)].sort((a, b) => a - b)).toEqual(items);
    expect(new Set(random.sample(items, 10)).size).toBe(10);
  });

  it('refuses bad arguments with errors that name them', () => {
    const random = new Random(1);
    expect(() => random.int(3, 3)).toThrowError(InvalidArgumentError);
    expect(() => random.categorical([0, 0])).toThrowError(/weights/);
    expect(() => random.categorical([1, Number.NaN])).toThrowError(/weights\[1\] = NaN/);
    expect(() => random.choice([])).toThrowError(/items/);
    expect(() => new Random(Number.NaN)).toThrowError(/seed = NaN/);
    expect(() => Random.fromState({ algorithm: 'other' } as never)).toThrowError(/state/);
  });
});
