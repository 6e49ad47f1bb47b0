import { assertFiniteArray, InvalidArgumentError } from '@cohort/core';
import type * as tf from '@tensorflow/tfjs';

/** A flat row of per-token values or a batch of rows (ragged rows allowed). */
export type NumberRows = readonly number[] | readonly (readonly number[])[];

export function isNested(values: NumberRows): values is readonly (readonly number[])[] {
  return values.length > 0 && Array.isArray(values[0]);
}

/** Checks that every element is a finite number, naming `name[i]` or `name[i][j]`. */
export function assertFiniteRows(name: string, values: NumberRows): void {
  if (!Array.isArray(values)) {
    throw new InvalidArgumentError({
      argument: name,
      value: values,
      message: 'must be an array of numbers or an array of arrays of numbers',
    });
  }
  if (isNested(values)) {
    values.forEach((row: unknown, index) => {
      if (!Array.isArray(row)) {
        throw new InvalidArgumentError({
          argument: `${name}[${index}]`,
          value: row,
          message: 'must be an array of numbers (all rows must be arrays)',
        });
      }
      assertFiniteArray(`${name}[${index}]`, row as number[]);
    });
  } else {
    const flat = values as readonly unknown[];
    for (let index = 0; index < flat.length; index++) {
      if (typeof flat[index] !== 'number') {
        throw new InvalidArgumentError({
          argument: `${name}[${index}]`,
          value: flat[index],
          message: 'must be a number (do not mix numbers and rows)',
        });
      }
    }
    assertFiniteArray(name, values as readonly number[]);
  }
}

export function describeRowsShape(values: NumberRows): string {
  if (isNested(values)) return `[${values.map((row) => row.length).join(', ')}] (row lengths)`;
  return `[${values.length}]`;
}

/** Throws unless `other` has exactly the shape of `reference` (same nesting, same row lengths). */
export function assertSameRowsShape(
  referenceName: string,
  reference: NumberRows,
  otherName: string,
  other: NumberRows,
): void {
  const sameNesting =
    isNested(reference) === isNested(other) || reference.length === 0 || other.length === 0;
  let same = sameNesting && reference.length === other.length;
  if (same && isNested(reference) && isNested(other)) {
    same = reference.every((row, index) => row.length === other[index]?.length);
  }
  if (!same) {
    throw new InvalidArgumentError({
      argument: otherName,
      value: other,
      message: `must have the shape of ${referenceName}: ${referenceName} has shape ${describeRowsShape(reference)}, ${otherName} has shape ${describeRowsShape(other)}`,
    });
  }
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Throws unless `tensor` has exactly `expected` shape. */
export function assertTensorShape(
  name: string,
  tensor: tf.Tensor,
  expected: readonly number[],
  expectedDescription: string,
): void {
  const actual = tensor.shape;
  const same =
    actual.length === expected.length && actual.every((size, index) => size === expected[index]);
  if (!same) {
    throw new InvalidArgumentError({
      argument: name,
      value: shapeText(actual),
      message: `must have shape ${shapeText(expected)} (${expectedDescription}), got ${shapeText(actual)}`,
    });
  }
}

export function assertIsTensor(name: string, value: unknown): asserts value is tf.Tensor {
  const candidate = value as { shape?: unknown; dataSync?: unknown } | null;
  if (
    candidate == null ||
    !Array.isArray(candidate.shape) ||
    typeof candidate.dataSync !== 'function'
  ) {
    throw new InvalidArgumentError({ argument: name, value, message: 'must be a tf.Tensor' });
  }
}
