import { InvalidArgumentError, NonFiniteError } from '@cohort/core';

/** Throws unless `value` is an array of finite numbers; names `name[i]` for a bad element. */
export function assertFiniteNumberArray(name: string, value: unknown): asserts value is number[] {
  if (!Array.isArray(value)) {
    throw new InvalidArgumentError({
      argument: name,
      value,
      message: 'must be an array of numbers',
    });
  }
  for (let index = 0; index < value.length; index++) {
    const element: unknown = value[index];
    if (typeof element !== 'number') {
      throw new InvalidArgumentError({
        argument: `${name}[${index}]`,
        value: element,
        message: 'must be a number',
      });
    }
    if (!Number.isFinite(element))
      throw new NonFiniteError({ quantity: `${name}[${index}]`, value: element });
  }
}

/** Throws unless `value` is a finite number. */
export function assertFiniteNumber(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw new InvalidArgumentError({ argument: name, value, message: 'must be a finite number' });
  }
  if (!Number.isFinite(value)) throw new NonFiniteError({ quantity: name, value });
}

/** Throws unless `value` is a number in `[0, 1]`. */
export function assertUnitInterval(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidArgumentError({
      argument: name,
      value,
      message: 'must be a number in [0, 1]',
    });
  }
}

/** Throws unless `value` has exactly `length` elements. */
export function assertLength(
  name: string,
  value: readonly unknown[],
  length: number,
  of: string,
): void {
  if (value.length !== length) {
    throw new InvalidArgumentError({
      argument: `${name}.length`,
      value: value.length,
      message: `must equal ${of}.length = ${length}`,
    });
  }
}

/** Throws unless every element of `mask` is 0 or 1. */
export function assertBinaryMask(name: string, mask: unknown): asserts mask is number[] {
  if (!Array.isArray(mask)) {
    throw new InvalidArgumentError({
      argument: name,
      value: mask,
      message: 'must be an array of 0 and 1',
    });
  }
  mask.forEach((flag: unknown, index) => {
    if (flag !== 0 && flag !== 1) {
      throw new InvalidArgumentError({
        argument: `${name}[${index}]`,
        value: flag,
        message: 'must be 0 or 1',
      });
    }
  });
}
