import { expectArraysClose } from './expect-arrays-close';

/**
 * Central finite differences `(f(x + h e_i) - f(x - h e_i)) / 2h` of a scalar
 * function at `point`, one partial derivative per coordinate (error O(h^2)).
 * Run it in float64 against a gradient that the project computes, for example
 * with tfjs in float32.
 *
 * @example
 * ```ts
 * finiteDifferenceGradient((x) => x[0]! ** 2 + 3 * x[1]!, [2, 5]); // ~[4, 3]
 * ```
 */
export function finiteDifferenceGradient(
  fn: (point: readonly number[]) => number,
  point: readonly number[],
  step = 1e-4,
): number[] {
  return point.map((_, index) => {
    const plus = [...point];
    const minus = [...point];
    plus[index] = point[index]! + step;
    minus[index] = point[index]! - step;
    return (fn(plus) - fn(minus)) / (2 * step);
  });
}

/**
 * Asserts that `gradient` agrees with the finite-difference gradient of `fn`
 * at `point`, within `tolerance` relative to `max(1, |expected|)`.
 *
 * @example
 * ```ts
 * expectGradientMatchesFiniteDifference({ fn: (x) => Math.sin(x[0]!), point: [0.3], gradient: [Math.cos(0.3)] });
 * ```
 */
export function expectGradientMatchesFiniteDifference(options: {
  fn: (point: readonly number[]) => number;
  point: readonly number[];
  gradient: readonly number[];
  step?: number;
  tolerance?: number;
}): void {
  const expected = finiteDifferenceGradient(options.fn, options.point, options.step);
  expectArraysClose(options.gradient, expected, options.tolerance ?? 1e-3);
}
