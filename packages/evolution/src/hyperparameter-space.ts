import { InvalidArgumentError, type Random } from '@cohort/core';

/** Bounds and scale of one named hyperparameter. */
export interface HyperparameterBounds {
  minimum: number;
  maximum: number;
  /** Perturb, resample and measure distance in log space (needs `minimum > 0`). */
  logScale?: boolean;
  /** Round to the nearest integer after every change. */
  integer?: boolean;
}

/** Named hyperparameters with their bounds. */
export type HyperparameterSpace = Readonly<Record<string, HyperparameterBounds>>;

/** One point of a {@link HyperparameterSpace}. */
export type Hyperparameters = Readonly<Record<string, number>>;

/**
 * A starting space for the trainer's knobs: learning rate (log, 1e-6..1e-2),
 * sampling temperature (0.1..2), KL coefficient (log, 1e-4..1) and PPO clip
 * range (0.05..0.5).
 *
 * @example
 * ```ts
 * const space = { ...defaultHyperparameterSpace, groupSize: { minimum: 2, maximum: 16, integer: true } };
 * ```
 */
export const defaultHyperparameterSpace: HyperparameterSpace = Object.freeze({
  learningRate: { minimum: 1e-6, maximum: 1e-2, logScale: true },
  temperature: { minimum: 0.1, maximum: 2 },
  klCoefficient: { minimum: 1e-4, maximum: 1, logScale: true },
  clipRange: { minimum: 0.05, maximum: 0.5 },
});

/**
 * Checks every bound of a space.
 *
 * @throws InvalidArgumentError naming `space.NAME.minimum`/`.maximum` when a
 * bound is not finite, `minimum >= maximum`, or a log-scale minimum is <= 0.
 *
 * @example
 * ```ts
 * assertHyperparameterSpace({ learningRate: { minimum: 0, maximum: 1, logScale: true } }); // throws
 * ```
 */
export function assertHyperparameterSpace(space: HyperparameterSpace): void {
  const names = Object.keys(space);
  if (names.length === 0) {
    throw new InvalidArgumentError({ argument: 'space', value: space, message: 'has no entries' });
  }
  for (const name of names) {
    const bounds = space[name]!;
    if (!Number.isFinite(bounds.minimum)) {
      throw new InvalidArgumentError({
        argument: `space.${name}.minimum`,
        value: bounds.minimum,
        message: 'must be finite',
      });
    }
    if (!Number.isFinite(bounds.maximum) || bounds.maximum <= bounds.minimum) {
      throw new InvalidArgumentError({
        argument: `space.${name}.maximum`,
        value: bounds.maximum,
        message: `must be finite and > minimum (${bounds.minimum})`,
      });
    }
    if (bounds.logScale && bounds.minimum <= 0) {
      throw new InvalidArgumentError({
        argument: `space.${name}.minimum`,
        value: bounds.minimum,
        message: 'must be > 0 on a log scale',
      });
    }
  }
}

/** Clamps `value` into the bounds and rounds it when the parameter is an integer. */
export function clampHyperparameter(bounds: HyperparameterBounds, value: number): number {
  let result = Math.min(bounds.maximum, Math.max(bounds.minimum, value));
  if (bounds.integer) {
    result = Math.round(result);
    // Rounding may step outside non-integer bounds; step back inside.
    if (result > bounds.maximum) result = Math.floor(bounds.maximum);
    if (result < bounds.minimum) result = Math.ceil(bounds.minimum);
  }
  return result;
}

/**
 * Draws one value from the prior: uniform on `[minimum, maximum]`, or
 * log-uniform (`exp(U(log min, log max))`) on a log scale.
 *
 * @example
 * ```ts
 * sampleHyperparameter({ minimum: 1e-5, maximum: 1e-3, logScale: true }, new Random(0));
 * ```
 */
export function sampleHyperparameter(bounds: HyperparameterBounds, random: Random): number {
  const value = bounds.logScale
    ? Math.exp(random.uniform(Math.log(bounds.minimum), Math.log(bounds.maximum)))
    : random.uniform(bounds.minimum, bounds.maximum);
  return clampHyperparameter(bounds, value);
}

/**
 * Draws a whole point from the prior of `space` (keys in the space's order).
 *
 * @example
 * ```ts
 * const initial = sampleHyperparameters(defaultHyperparameterSpace, new Random(7));
 * ```
 */
export function sampleHyperparameters(space: HyperparameterSpace, random: Random): Hyperparameters {
  assertHyperparameterSpace(space);
  const result: Record<string, number> = {};
  for (const [name, bounds] of Object.entries(space)) {
    result[name] = sampleHyperparameter(bounds, random);
  }
  return Object.freeze(result);
}

/**
 * Normalized distance between two points: the mean over parameters of
 * `|t(a) - t(b)| / (t(max) - t(min))`, with `t = log` on a log scale and the
 * identity otherwise. It lies in [0, 1] for points inside the bounds.
 *
 * @example
 * ```ts
 * hyperparameterDistance({ lr: { minimum: 1e-4, maximum: 1e-2, logScale: true } }, { lr: 1e-4 }, { lr: 1e-3 }); // 0.5
 * ```
 */
export function hyperparameterDistance(
  space: HyperparameterSpace,
  first: Hyperparameters,
  second: Hyperparameters,
): number {
  const names = Object.keys(space);
  let sum = 0;
  for (const name of names) {
    const bounds = space[name]!;
    const transform = bounds.logScale ? Math.log : (value: number) => value;
    const a = first[name];
    const b = second[name];
    if (a === undefined || b === undefined) {
      throw new InvalidArgumentError({
        argument: a === undefined ? `first.${name}` : `second.${name}`,
        value: undefined,
        message: 'is missing',
      });
    }
    sum +=
      Math.abs(transform(a) - transform(b)) /
      (transform(bounds.maximum) - transform(bounds.minimum));
  }
  return sum / names.length;
}
