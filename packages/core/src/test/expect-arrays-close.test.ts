import { describe, expect, it } from 'vitest';
import { expectArraysClose } from './expect-arrays-close';
import {
  expectGradientMatchesFiniteDifference,
  finiteDifferenceGradient,
} from './finite-difference';

describe('expectArraysClose', () => {
  it('accepts values within the relative tolerance, NaN against NaN and equal infinities', () => {
    expect(() =>
      expectArraysClose(
        [
          [1, 2e6],
          [Number.NaN, Number.POSITIVE_INFINITY],
        ],
        [
          [1 + 5e-7, 2e6 + 1],
          [Number.NaN, Number.POSITIVE_INFINITY],
        ],
        1e-6,
      ),
    ).not.toThrow();
    expect(() => expectArraysClose(new Float32Array([0.5]), [0.5])).not.toThrow();
    expect(() => expectArraysClose([], [])).not.toThrow();
    expect(() => expectArraysClose(3, 3)).not.toThrow();
  });

  it('names the first position that differs, and refuses other shapes, NaN for a number and a wrong infinity', () => {
    expect(() =>
      expectArraysClose(
        [
          [1, 2],
          [3, 4],
        ],
        [
          [1, 2],
          [3, 4.1],
        ],
      ),
    ).toThrow(/at \[1\]\[1\]: 4 differs from the expected 4.1/);
    expect(() => expectArraysClose([1, 2], [[1, 2]])).toThrow(
      /shape \[2\] differs from the expected \[1,2\]/,
    );
    expect(() => expectArraysClose([Number.NaN], [0])).toThrow(/NaN differs/);
    expect(() => expectArraysClose([0], [Number.NaN])).toThrow(/0 differs/);
    expect(() =>
      expectArraysClose([Number.NEGATIVE_INFINITY], [Number.POSITIVE_INFINITY]),
    ).toThrow();
  });
});

describe('finite differences', () => {
  it('matches gradients computed by hand', () => {
    // f(x, y) = x^2 y + sin(y): df/dx = 2xy, df/dy = x^2 + cos(y).
    const fn = (point: readonly number[]) => point[0]! ** 2 * point[1]! + Math.sin(point[1]!);
    const gradient = finiteDifferenceGradient(fn, [1.5, -0.7]);
    expectArraysClose(gradient, [2 * 1.5 * -0.7, 1.5 ** 2 + Math.cos(-0.7)], 1e-7);
    expect(() =>
      expectGradientMatchesFiniteDifference({
        fn,
        point: [1.5, -0.7],
        gradient: [-2.1, 2.25 + Math.cos(-0.7)],
      }),
    ).not.toThrow();
    expect(() =>
      expectGradientMatchesFiniteDifference({ fn, point: [1.5, -0.7], gradient: [-2.1, 2.25] }),
    ).toThrow();
  });
});
