import { assertFiniteArray, InvalidArgumentError } from '@cohort/core';
import type { GenomeKind } from './genome-kind';
import {
  assertRowShapes,
  euclideanDistance,
  type GaussianMutationOptions,
  mutateResolved,
  type RowShape,
  resolveGaussianMutationOptions,
  rowWiseCrossover,
  uniformCrossover,
} from './vector-operators';

/** Options of {@link parameterVectorGenome}. */
export interface ParameterVectorGenomeOptions {
  /** Gaussian mutation settings (see {@link gaussianMutation}). */
  mutation?: GaussianMutationOptions;
  /** `'uniform'` (default) or `'row-wise'` (needs `rowShapes`). */
  crossover?: 'uniform' | 'row-wise';
  /** The matrices of the flat vector, row-major, in order; needed for `'row-wise'`. */
  rowShapes?: readonly RowShape[];
  /** Expected vector length; checked on every value when given. */
  length?: number;
}

/**
 * The parameter-vector genome: the flat `Float32Array` weights of a small
 * model (the delta model or the actor). Gaussian mutation with per-gene
 * probability and occasional large mutations; uniform or row-wise crossover
 * (ERL, Khadka and Tumer 2018); distance is the Euclidean (L2) distance.
 *
 * @example
 * ```ts
 * const kind = parameterVectorGenome({
 *   mutation: { geneProbability: 0.2, standardDeviation: 0.05 },
 *   crossover: 'row-wise',
 *   rowShapes: [{ rows: 4, columns: 8 }],
 * });
 * const child = kind.operators.mutate(new Float32Array(32), new Random(0));
 * ```
 */
export function parameterVectorGenome(
  options: ParameterVectorGenomeOptions = {},
): GenomeKind<Float32Array> {
  const mutation = resolveGaussianMutationOptions(options.mutation);
  const crossover = options.crossover ?? 'uniform';
  if (crossover !== 'uniform' && crossover !== 'row-wise') {
    throw new InvalidArgumentError({
      argument: 'crossover',
      value: crossover,
      message: "must be 'uniform' or 'row-wise'",
    });
  }
  const rowShapes = options.rowShapes;
  if (crossover === 'row-wise') {
    if (rowShapes === undefined || rowShapes.length === 0) {
      throw new InvalidArgumentError({
        argument: 'rowShapes',
        value: rowShapes,
        message: "is needed for crossover 'row-wise'",
      });
    }
    const total = rowShapes.reduce((sum, shape) => sum + shape.rows * shape.columns, 0);
    assertRowShapes(rowShapes, options.length ?? total);
  }
  const validate = (name: string, value: Float32Array): void => {
    if (!(value instanceof Float32Array)) {
      throw new InvalidArgumentError({ argument: name, value, message: 'must be a Float32Array' });
    }
    if (options.length !== undefined && value.length !== options.length) {
      throw new InvalidArgumentError({
        argument: `${name}.length`,
        value: value.length,
        message: `must be ${options.length}`,
      });
    }
    assertFiniteArray(name, value);
  };
  return {
    kind: 'parameter-vector',
    validate,
    operators: {
      mutate: (value, random) => mutateResolved(value, mutation, random),
      crossover: (first, second, random) =>
        crossover === 'row-wise'
          ? rowWiseCrossover(first, second, rowShapes!, random)
          : uniformCrossover(first, second, random),
      distance: euclideanDistance,
    },
  };
}
