import { assertFiniteArray, assertInRange, InvalidArgumentError, type Random } from '@cohort/core';

/** Options of {@link gaussianMutation}. */
export interface GaussianMutationOptions {
  /** Probability that each gene is perturbed. Default 0.1. */
  geneProbability?: number;
  /** Standard deviation of an ordinary perturbation. Default 0.1. */
  standardDeviation?: number;
  /** Probability that a perturbed gene gets a large perturbation instead. Default 0.05. */
  largeMutationProbability?: number;
  /** Multiplies `standardDeviation` for a large perturbation. Default 10. */
  largeMutationScale?: number;
  /** Results are clamped to `[-maximumMagnitude, maximumMagnitude]`. Default 1e6 (as in ERL). */
  maximumMagnitude?: number;
}

/** Checks {@link GaussianMutationOptions} and fills in the defaults. */
export function resolveGaussianMutationOptions(
  options: GaussianMutationOptions = {},
): Required<GaussianMutationOptions> {
  const resolved = {
    geneProbability: options.geneProbability ?? 0.1,
    standardDeviation: options.standardDeviation ?? 0.1,
    largeMutationProbability: options.largeMutationProbability ?? 0.05,
    largeMutationScale: options.largeMutationScale ?? 10,
    maximumMagnitude: options.maximumMagnitude ?? 1e6,
  };
  assertInRange('geneProbability', resolved.geneProbability, 0, 1);
  assertInRange('standardDeviation', resolved.standardDeviation, 0, Number.MAX_VALUE);
  assertInRange('largeMutationProbability', resolved.largeMutationProbability, 0, 1);
  assertInRange('largeMutationScale', resolved.largeMutationScale, 0, Number.MAX_VALUE);
  assertInRange('maximumMagnitude', resolved.maximumMagnitude, 0, Number.MAX_VALUE);
  return resolved;
}

/**
 * Gaussian mutation of a weight vector with per-gene probability and
 * occasional large mutations (the "super mutation" of ERL, Khadka and Tumer
 * 2018, sec. 3):
 *
 * `w'_i = clamp(w_i + m_i * eps_i)`, `m_i ~ Bernoulli(geneProbability)`,
 * `eps_i ~ N(0, sigma^2)`, or `N(0, (largeMutationScale * sigma)^2)` with
 * probability `largeMutationProbability` given `m_i = 1`.
 *
 * Returns a new array; the input is not changed.
 *
 * @throws NonFiniteError naming `values[i]` for a NaN or infinite weight.
 *
 * @example
 * ```ts
 * const child = gaussianMutation(new Float32Array(8), { geneProbability: 0.5 }, new Random(1));
 * ```
 */
export function gaussianMutation(
  values: Float32Array,
  options: GaussianMutationOptions,
  random: Random,
): Float32Array {
  assertFiniteArray('values', values);
  const resolved = resolveGaussianMutationOptions(options);
  return mutateResolved(values, resolved, random);
}

/** {@link gaussianMutation} with options already resolved (no re-validation per call). */
export function mutateResolved(
  values: Float32Array,
  options: Required<GaussianMutationOptions>,
  random: Random,
): Float32Array {
  const result = Float32Array.from(values);
  const limit = options.maximumMagnitude;
  for (let index = 0; index < result.length; index++) {
    if (!random.bernoulli(options.geneProbability)) continue;
    const large = random.bernoulli(options.largeMutationProbability);
    const sd = large
      ? options.standardDeviation * options.largeMutationScale
      : options.standardDeviation;
    const mutated = result[index]! + random.normal(0, sd);
    result[index] = Math.min(limit, Math.max(-limit, mutated));
  }
  return result;
}

function assertSameLength(first: ArrayLike<number>, second: ArrayLike<number>): void {
  if (first.length !== second.length) {
    throw new InvalidArgumentError({
      argument: 'second.length',
      value: second.length,
      message: `must equal first.length (${first.length})`,
    });
  }
}

/**
 * Uniform crossover (Syswerda 1989): each gene of the child comes from either
 * parent with probability 1/2.
 *
 * @throws InvalidArgumentError naming `second.length` when the parents differ in length.
 *
 * @example
 * ```ts
 * uniformCrossover(new Float32Array([0, 0]), new Float32Array([1, 1]), new Random(3));
 * ```
 */
export function uniformCrossover(
  first: Float32Array,
  second: Float32Array,
  random: Random,
): Float32Array {
  assertSameLength(first, second);
  const child = new Float32Array(first.length);
  for (let index = 0; index < child.length; index++) {
    child[index] = random.bernoulli(0.5) ? first[index]! : second[index]!;
  }
  return child;
}

/** The shape of one weight matrix inside a flat parameter vector (row-major). */
export interface RowShape {
  rows: number;
  columns: number;
}

/**
 * Checks that `rowShapes` tile a vector of `length` exactly.
 *
 * @throws InvalidArgumentError naming `rowShapes[i].rows`/`.columns` or `rowShapes`.
 */
export function assertRowShapes(rowShapes: readonly RowShape[], length: number): void {
  let total = 0;
  rowShapes.forEach((shape, index) => {
    if (!Number.isInteger(shape.rows) || shape.rows < 1) {
      throw new InvalidArgumentError({
        argument: `rowShapes[${index}].rows`,
        value: shape.rows,
        message: 'must be an integer >= 1',
      });
    }
    if (!Number.isInteger(shape.columns) || shape.columns < 1) {
      throw new InvalidArgumentError({
        argument: `rowShapes[${index}].columns`,
        value: shape.columns,
        message: 'must be an integer >= 1',
      });
    }
    total += shape.rows * shape.columns;
  });
  if (total !== length) {
    throw new InvalidArgumentError({
      argument: 'rowShapes',
      value: rowShapes.map((shape) => `${shape.rows}x${shape.columns}`).join(', '),
      message: `cover ${total} weights, but the vector has ${length}`,
    });
  }
}

/**
 * Row-wise crossover of ERL (Khadka and Tumer 2018, sec. 3): the parameter
 * vector is a sequence of row-major matrices given by `rowShapes`; each row of
 * each matrix (the incoming weights of one neuron) is copied whole from one
 * parent chosen with probability 1/2, so neurons are never split.
 *
 * @throws InvalidArgumentError when the parents differ in length or the shapes
 * do not cover the vector exactly.
 *
 * @example
 * ```ts
 * // a 2x3 matrix followed by a bias of 2 (one row of 2)
 * rowWiseCrossover(a, b, [{ rows: 2, columns: 3 }, { rows: 1, columns: 2 }], new Random(0));
 * ```
 */
export function rowWiseCrossover(
  first: Float32Array,
  second: Float32Array,
  rowShapes: readonly RowShape[],
  random: Random,
): Float32Array {
  assertSameLength(first, second);
  assertRowShapes(rowShapes, first.length);
  const child = new Float32Array(first.length);
  let offset = 0;
  for (const shape of rowShapes) {
    for (let row = 0; row < shape.rows; row++) {
      const source = random.bernoulli(0.5) ? first : second;
      child.set(source.subarray(offset, offset + shape.columns), offset);
      offset += shape.columns;
    }
  }
  return child;
}

/**
 * Euclidean distance `sqrt(sum_i (a_i - b_i)^2)`, accumulated in float64.
 *
 * @example
 * ```ts
 * euclideanDistance(new Float32Array([0, 0]), new Float32Array([3, 4])); // 5
 * ```
 */
export function euclideanDistance(first: ArrayLike<number>, second: ArrayLike<number>): number {
  assertSameLength(first, second);
  let sum = 0;
  for (let index = 0; index < first.length; index++) {
    const difference = first[index]! - second[index]!;
    sum += difference * difference;
  }
  return Math.sqrt(sum);
}
