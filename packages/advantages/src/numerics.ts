import {
  assertFiniteArray,
  assertInteger,
  InvalidArgumentError,
  NonFiniteError,
} from '@cohort/core';

/**
 * A power of two that brings the largest magnitude of `values` near 1.
 *
 * Multiplying by a power of two is exact in binary floating point, so working
 * on scaled copies changes no digit of the result while it keeps squares of
 * huge rewards (1e200) from overflowing and squares of tiny ones (1e-200) from
 * underflowing.
 */
export function powerOfTwoScale(values: readonly number[]): number {
  let largest = 0;
  for (const value of values) largest = Math.max(largest, Math.abs(value));
  if (largest === 0) return 1;
  const exponent = Math.min(1020, Math.max(-1020, Math.floor(Math.log2(largest))));
  return 2 ** -exponent;
}

/** Arithmetic mean; 0 for an empty list. Exact for a list of equal values. */
export function meanOf(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/** Median; the mean of the two middle values for an even count; 0 for an empty list. */
export function medianOf(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((left, right) => left - right);
  const middle = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[middle]!;
  return sorted[middle - 1]! / 2 + sorted[middle]! / 2;
}

/** Sample standard deviation (Bessel's n - 1) around the mean; 0 for fewer than two values. */
export function sampleStandardDeviationOf(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const center = meanOf(values);
  let sumOfSquares = 0;
  for (const value of values) sumOfSquares += (value - center) ** 2;
  return Math.sqrt(sumOfSquares / (values.length - 1));
}

/** max - min; 0 for an empty list. */
export function spreadOf(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let minimum = values[0]!;
  let maximum = values[0]!;
  for (const value of values) {
    if (value < minimum) minimum = value;
    if (value > maximum) maximum = value;
  }
  return maximum - minimum;
}

/** Throws unless `value` is an array of finite numbers; names `name[i]` for a bad element. */
export function assertNumberArray(name: string, value: unknown): asserts value is number[] {
  if (!Array.isArray(value)) {
    throw new InvalidArgumentError({
      argument: name,
      value,
      message: 'must be an array of numbers',
    });
  }
  for (let index = 0; index < value.length; index++) {
    if (typeof value[index] !== 'number') {
      throw new InvalidArgumentError({
        argument: `${name}[${index}]`,
        value: value[index],
        message: 'must be a number',
      });
    }
  }
  assertFiniteArray(name, value as number[]);
}

/** Validates `rewards` and `groupSize` together: `rewards.length` must be a multiple of `groupSize`. */
export function assertGroupedRewards(
  rewards: unknown,
  groupSize: unknown,
): asserts rewards is number[] {
  assertNumberArray('rewards', rewards);
  if (typeof groupSize !== 'number') {
    throw new InvalidArgumentError({
      argument: 'groupSize',
      value: groupSize,
      message: 'must be an integer >= 1',
    });
  }
  assertInteger('groupSize', groupSize, 1);
  if (rewards.length % groupSize !== 0) {
    throw new InvalidArgumentError({
      argument: 'rewards.length',
      value: rewards.length,
      message: `must be a multiple of groupSize = ${groupSize} (groups are contiguous runs of groupSize samples)`,
    });
  }
}

/** Throws unless `value` is a finite number >= 0. */
export function assertNonNegative(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError({
      argument: name,
      value,
      message: 'must be a finite number >= 0',
    });
  }
}

/** Splits `values` into contiguous runs of `groupSize`. */
export function groupsOf(values: readonly number[], groupSize: number): number[][] {
  const groups: number[][] = [];
  for (let start = 0; start < values.length; start += groupSize) {
    groups.push(values.slice(start, start + groupSize));
  }
  return groups;
}

/** Guards against overflow at the extremes of the float range: a result must be finite. */
export function assertFiniteResult(name: string, values: readonly number[]): void {
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    if (!Number.isFinite(value)) {
      throw new NonFiniteError({
        quantity: `${name}[${index}]`,
        value,
        context: 'the inputs are finite, so the result overflowed the float range',
      });
    }
  }
}
