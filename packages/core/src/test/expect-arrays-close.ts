/** Nested arrays of numbers, as `arraySync()` and plain test fixtures give them. */
export type NumberArray = number | ArrayLike<number> | readonly NumberArray[];

function flatten(value: NumberArray, path: string, out: { path: string; value: number }[]): void {
  if (typeof value === 'number') {
    out.push({ path, value });
    return;
  }
  for (let index = 0; index < value.length; index++)
    flatten((value as ArrayLike<NumberArray>)[index]!, `${path}[${index}]`, out);
}

function shapeOf(value: NumberArray): number[] {
  if (typeof value === 'number') return [];
  const first = (value as ArrayLike<NumberArray>)[0];
  return [value.length, ...(first === undefined ? [] : shapeOf(first))];
}

/**
 * Asserts that two (nested) arrays of numbers have the same shape and agree
 * within `|a - e| <= tolerance * max(1, |e|)` elementwise, as tfjs's
 * `expectArraysClose` does; NaN matches only NaN and an infinity only the same
 * infinity. Throws an `Error` that names the first position that differs, so
 * it works under any test runner.
 *
 * @example
 * ```ts
 * expectArraysClose(model.predict(x).arraySync() as number[][], [[0.1, 0.9]], 1e-5);
 * ```
 */
export function expectArraysClose(
  actual: NumberArray,
  expected: NumberArray,
  tolerance = 1e-6,
): void {
  const actualShape = shapeOf(actual);
  const expectedShape = shapeOf(expected);
  if (actualShape.join(',') !== expectedShape.join(',')) {
    throw new Error(`shape [${actualShape}] differs from the expected [${expectedShape}]`);
  }
  const actualValues: { path: string; value: number }[] = [];
  const expectedValues: { path: string; value: number }[] = [];
  flatten(actual, '', actualValues);
  flatten(expected, '', expectedValues);
  if (actualValues.length !== expectedValues.length) {
    throw new Error(
      `${actualValues.length} values differ in count from the expected ${expectedValues.length}`,
    );
  }
  actualValues.forEach(({ path, value }, index) => {
    const want = expectedValues[index]!.value;
    const same =
      Number.isNaN(want) || !Number.isFinite(want)
        ? Object.is(value, want) || (Number.isNaN(want) && Number.isNaN(value))
        : Math.abs(value - want) <= tolerance * Math.max(1, Math.abs(want));
    if (!same) {
      throw new Error(
        `at ${path || 'the scalar'}: ${value} differs from the expected ${want} (tolerance ${tolerance})`,
      );
    }
  });
}
