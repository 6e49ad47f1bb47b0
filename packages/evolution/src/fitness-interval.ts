import { assertInRange, assertInteger, InvalidArgumentError } from '@cohort/core';

/** A fitness with its confidence interval. */
export interface FitnessInterval {
  /** Mean over the fitness episodes. */
  mean: number;
  lower: number;
  upper: number;
  /** Episodes behind the mean. */
  count: number;
  /** Coverage of the interval, for example 0.95. */
  confidence: number;
  /** `'wilson'` for a success rate, `'normal'` for a mean with a standard deviation. */
  method: 'wilson' | 'normal';
}

/**
 * Inverse of the standard normal CDF, by Acklam's rational approximation
 * (relative error below 1.15e-9 on (0, 1)).
 */
export function normalQuantile(probability: number): number {
  if (!(probability > 0 && probability < 1)) {
    throw new InvalidArgumentError({
      argument: 'probability',
      value: probability,
      message: 'must lie strictly between 0 and 1',
    });
  }
  const a = [
    -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2,
    -3.066479806614716e1, 2.506628277459239,
  ] as const;
  const b = [
    -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1,
    -1.328068155288572e1,
  ] as const;
  const c = [
    -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783,
  ] as const;
  const d = [
    7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416,
  ] as const;
  const low = 0.02425;
  if (probability < low) {
    const q = Math.sqrt(-2 * Math.log(probability));
    return (
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    );
  }
  if (probability > 1 - low) return -normalQuantile(1 - probability);
  const q = probability - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/**
 * The confidence interval of a member's fitness, measured on `count` fitness
 * episodes. Without a standard deviation the mean is a success rate `p` and
 * the interval is Wilson's score interval (Wilson 1927; Agresti and Coull
 * 1998, eq. 2), which stays inside [0, 1] and is sensible at p = 0 or 1:
 *
 * `(p + z^2/(2n)) / (1 + z^2/n) +- z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/(4n^2))`,
 * `z = Phi^-1((1 + confidence) / 2)`.
 *
 * With a standard deviation `s` it is the normal interval `mean +- z s / sqrt(n)`.
 *
 * @throws InvalidArgumentError naming `count`, `mean`, `standardDeviation` or `confidence`.
 * @example
 * ```ts
 * fitnessInterval({ mean: 0.7, count: 10 }); // { lower: 0.397, upper: 0.892, ... } (Wilson, 95 %)
 * ```
 */
export function fitnessInterval(options: {
  mean: number;
  count: number;
  standardDeviation?: number;
  confidence?: number;
}): FitnessInterval {
  const { mean, count } = options;
  const confidence = options.confidence ?? 0.95;
  assertInteger('count', count, 1);
  assertInRange('confidence', confidence, Number.MIN_VALUE, 1 - Number.EPSILON);
  const z = normalQuantile((1 + confidence) / 2);
  if (options.standardDeviation === undefined) {
    assertInRange('mean', mean, 0, 1);
    const z2 = z * z;
    const denominator = 1 + z2 / count;
    const center = (mean + z2 / (2 * count)) / denominator;
    const half =
      (z / denominator) * Math.sqrt((mean * (1 - mean)) / count + z2 / (4 * count * count));
    return {
      mean,
      lower: Math.max(0, center - half),
      upper: Math.min(1, center + half),
      count,
      confidence,
      method: 'wilson',
    };
  }
  assertInRange('mean', mean, -Number.MAX_VALUE, Number.MAX_VALUE);
  assertInRange('standardDeviation', options.standardDeviation, 0, Number.MAX_VALUE);
  const half = (z * options.standardDeviation) / Math.sqrt(count);
  return { mean, lower: mean - half, upper: mean + half, count, confidence, method: 'normal' };
}
