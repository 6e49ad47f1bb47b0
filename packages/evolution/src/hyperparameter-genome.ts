import { assertInRange, InvalidArgumentError, type Random } from '@cohort/core';
import type { GenomeKind } from './genome-kind';
import {
  assertHyperparameterSpace,
  clampHyperparameter,
  type HyperparameterSpace,
  type Hyperparameters,
  hyperparameterDistance,
  sampleHyperparameter,
} from './hyperparameter-space';

/** Options of {@link hyperparameterGenome}. */
export interface HyperparameterGenomeOptions {
  space: HyperparameterSpace;
  /** Multiplicative perturbation factors, one drawn per parameter. Default `[0.8, 1.2]` (PBT). */
  perturbationFactors?: readonly number[];
  /** Probability that a parameter is resampled from its prior instead of perturbed. Default 0.25. */
  resampleProbability?: number;
}

/**
 * PBT's explore step (Jaderberg et al. 2017, sec. 3.1 and 4.1): each parameter
 * is resampled from its prior with probability `resampleProbability`, otherwise
 * multiplied by a factor drawn uniformly from `perturbationFactors`
 * (`x' = clamp(x * f)`). Always clamped to the bounds, rounded for integers.
 *
 * @example
 * ```ts
 * perturbHyperparameters({ space: defaultHyperparameterSpace }, current, new Random(0));
 * ```
 */
export function perturbHyperparameters(
  options: HyperparameterGenomeOptions,
  value: Hyperparameters,
  random: Random,
): Hyperparameters {
  const factors = options.perturbationFactors ?? [0.8, 1.2];
  const resampleProbability = options.resampleProbability ?? 0.25;
  const result: Record<string, number> = {};
  for (const [name, bounds] of Object.entries(options.space)) {
    const current = value[name]!;
    result[name] = random.bernoulli(resampleProbability)
      ? sampleHyperparameter(bounds, random)
      : clampHyperparameter(bounds, current * random.choice(factors));
  }
  return Object.freeze(result);
}

/**
 * The hyperparameter genome: named numbers with bounds and log-scale flags
 * (learning rate, temperature, KL coefficient, clip range, ...). Mutation is
 * PBT's perturb-or-resample ({@link perturbHyperparameters}); crossover takes
 * each parameter from either parent with probability 1/2; distance is
 * {@link hyperparameterDistance} (normalized, log where flagged).
 *
 * @example
 * ```ts
 * const kind = hyperparameterGenome({ space: defaultHyperparameterSpace, resampleProbability: 0.2 });
 * const child = kind.operators.mutate(sampleHyperparameters(kind.space, new Random(1)), new Random(2));
 * ```
 */
export function hyperparameterGenome(
  options: HyperparameterGenomeOptions,
): GenomeKind<Hyperparameters> & { readonly space: HyperparameterSpace } {
  assertHyperparameterSpace(options.space);
  const factors = options.perturbationFactors ?? [0.8, 1.2];
  if (factors.length === 0) {
    throw new InvalidArgumentError({
      argument: 'perturbationFactors',
      value: factors,
      message: 'must not be empty',
    });
  }
  factors.forEach((factor, index) => {
    if (!Number.isFinite(factor) || factor <= 0) {
      throw new InvalidArgumentError({
        argument: `perturbationFactors[${index}]`,
        value: factor,
        message: 'must be finite and > 0',
      });
    }
  });
  assertInRange('resampleProbability', options.resampleProbability ?? 0.25, 0, 1);
  const space = options.space;
  const validate = (name: string, value: Hyperparameters): void => {
    for (const [key, bounds] of Object.entries(space)) {
      const element = value?.[key];
      if (element === undefined || !Number.isFinite(element)) {
        throw new InvalidArgumentError({
          argument: `${name}.${key}`,
          value: element,
          message: 'must be a finite number',
        });
      }
      if (element < bounds.minimum || element > bounds.maximum) {
        throw new InvalidArgumentError({
          argument: `${name}.${key}`,
          value: element,
          message: `must lie in [${bounds.minimum}, ${bounds.maximum}]`,
        });
      }
    }
  };
  return {
    kind: 'hyperparameters',
    space,
    validate,
    operators: {
      mutate: (value, random) => perturbHyperparameters(options, value, random),
      crossover: (first, second, random) => {
        const child: Record<string, number> = {};
        for (const name of Object.keys(space)) {
          child[name] = random.bernoulli(0.5) ? first[name]! : second[name]!;
        }
        return Object.freeze(child);
      },
      distance: (first, second) => hyperparameterDistance(space, first, second),
    },
  };
}
