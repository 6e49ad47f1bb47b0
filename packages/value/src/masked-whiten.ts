import { assertOneOf, InvalidArgumentError } from '@cohort/core';
import { assertBinaryMask, assertFiniteNumberArray, assertLength } from './validation';

/** How {@link maskedWhiten} normalizes; the defaults are verl's and TRL's `masked_whiten`. */
export interface MaskedWhitenSettings {
  /**
   * `true` (default): the result has mean 0. `false`: the mean is added back
   * after scaling, `(x - mean) / std + mean` (verl and TRL `shift_mean=False`,
   * used by TRL's PPO to whiten rewards).
   */
  shiftMean?: boolean;
  /** `'sample'` (default; N - 1, verl/TRL `masked_var(unbiased=True)`) or `'population'` (N, OpenRLHF). */
  variance?: 'sample' | 'population';
  /** Default `1e-8`, as all three. */
  epsilon?: number;
  /**
   * `'add'` (default): divide by `sqrt(var + epsilon)` (verl, TRL, SkyRL);
   * `'floor'`: by `sqrt(max(var, epsilon))` (OpenRLHF's `var.clamp(min=1e-8).rsqrt()`).
   */
  epsilonPlacement?: 'add' | 'floor';
}

/** Options of {@link maskedWhiten}. */
export interface MaskedWhitenOptions extends MaskedWhitenSettings {
  /** Rows of values (ragged allowed), e.g. per-token advantages of each sequence. */
  values: readonly (readonly number[])[];
  /** Optional 0/1 rows of the same shape: the statistics use the positions with 1 only. */
  mask?: readonly (readonly number[])[];
}

function withDefaults(settings: MaskedWhitenSettings): Required<MaskedWhitenSettings> {
  const {
    shiftMean = true,
    variance = 'sample',
    epsilon = 1e-8,
    epsilonPlacement = 'add',
  } = settings;
  return { shiftMean, variance, epsilon, epsilonPlacement };
}

/** Validates whitening settings at a public boundary; `prefix` names the fields. */
export function assertWhitenSettings(settings: MaskedWhitenSettings, prefix = ''): void {
  const { shiftMean, variance, epsilon, epsilonPlacement } = withDefaults(settings);
  if (typeof shiftMean !== 'boolean') {
    throw new InvalidArgumentError({
      argument: `${prefix}shiftMean`,
      value: shiftMean,
      message: 'must be a boolean',
    });
  }
  assertOneOf(`${prefix}variance`, variance, ['sample', 'population'] as const);
  assertOneOf(`${prefix}epsilonPlacement`, epsilonPlacement, ['add', 'floor'] as const);
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon < 0) {
    throw new InvalidArgumentError({
      argument: `${prefix}epsilon`,
      value: epsilon,
      message: 'must be a finite number >= 0',
    });
  }
}

/** Validates a `whiten` option: `true`, `false` or whitening settings. */
export function assertWhitenOption(
  whiten: unknown,
): asserts whiten is boolean | MaskedWhitenSettings {
  if (typeof whiten === 'boolean') return;
  if (whiten === null || typeof whiten !== 'object') {
    throw new InvalidArgumentError({
      argument: 'whiten',
      value: whiten,
      message:
        'must be a boolean or whitening settings { shiftMean, variance, epsilon, epsilonPlacement }',
    });
  }
  assertWhitenSettings(whiten as MaskedWhitenSettings, 'whiten.');
}

/**
 * {@link maskedWhiten} without the input checks, for rows a caller has
 * already validated (or whose non-finite values a later stage must see):
 * the statistics use the positions where `isIn(row, index)`; the others give 0.
 *
 * @example
 * ```ts
 * whitenRows([[1, 2, 3]], () => true, { variance: 'population' }); // [[-1.22, 0, 1.22]]
 * ```
 */
export function whitenRows(
  values: readonly (readonly number[])[],
  isIn: (row: number, index: number) => boolean,
  settings: MaskedWhitenSettings,
): number[][] {
  const { shiftMean, variance, epsilon, epsilonPlacement } = withDefaults(settings);
  let count = 0;
  let sum = 0;
  values.forEach((row, b) => {
    row.forEach((value, t) => {
      if (isIn(b, t)) {
        count++;
        sum += value;
      }
    });
  });
  const mean = count === 0 ? 0 : sum / count;
  let squares = 0;
  values.forEach((row, b) => {
    row.forEach((value, t) => {
      if (isIn(b, t)) squares += (value - mean) ** 2;
    });
  });
  const divisor = variance === 'sample' ? count - 1 : count;
  const spread = divisor > 0 ? squares / divisor : 0;
  const denominator = Math.sqrt(
    epsilonPlacement === 'add' ? spread + epsilon : Math.max(spread, epsilon),
  );
  return values.map((row, b) =>
    row.map((value, t) => {
      if (!isIn(b, t)) return 0;
      if (denominator === 0) return shiftMean ? 0 : mean;
      const whitened = (value - mean) / denominator;
      return shiftMean ? whitened : whitened + mean;
    }),
  );
}

/**
 * Whitening over the masked positions of a whole batch, as `masked_whiten`
 * in verl (`verl/utils/torch_functional.py`) and TRL (`trl/core.py`):
 *
 * `mean = sum m x / sum m`, `var = sum m (x - mean)^2 / (sum m - 1)`,
 * `y = (x - mean) / sqrt(var + epsilon)` (`+ mean` when `shiftMean` is false).
 *
 * `variance: 'population', epsilonPlacement: 'floor'` gives OpenRLHF's
 * normalization of advantages (`(x - mean) * var.clamp(min=1e-8).rsqrt()`).
 * Masked-out positions give 0 (the peers leave their whitened values there,
 * which no loss reads). Conventions where the peers raise: fewer than two
 * masked positions with `'sample'` variance give variance 0, and no masked
 * position gives all zeros.
 *
 * @throws NonFiniteError naming `values[i][t]` (masked in) when it is NaN or infinite.
 * @throws InvalidArgumentError naming `mask[i][t]` when not 0/1, or a bad setting.
 *
 * @example
 * ```ts
 * maskedWhiten({ values: [[1, 2, 3]] }); // [[-1, 0, 1]]: mean 2, sample std 1
 * maskedWhiten({ values: [[1, 2, 3]], shiftMean: false }); // [[1, 2, 3]]
 * ```
 */
export function maskedWhiten(options: MaskedWhitenOptions): number[][] {
  const { values, mask } = options;
  assertWhitenSettings(options);
  if (!Array.isArray(values)) {
    throw new InvalidArgumentError({
      argument: 'values',
      value: values,
      message: 'must be an array of rows of numbers',
    });
  }
  if (mask !== undefined) {
    if (!Array.isArray(mask)) {
      throw new InvalidArgumentError({
        argument: 'mask',
        value: mask,
        message: 'must be an array of rows of 0 and 1',
      });
    }
    assertLength('mask', mask, values.length, 'values');
  }
  values.forEach((row: unknown, b) => {
    if (!Array.isArray(row)) {
      throw new InvalidArgumentError({
        argument: `values[${b}]`,
        value: row,
        message: 'must be an array of numbers',
      });
    }
    if (mask !== undefined) {
      assertBinaryMask(`mask[${b}]`, mask[b]);
      assertLength(`mask[${b}]`, mask[b]!, row.length, `values[${b}]`);
      assertFiniteNumberArray(
        `values[${b}]`,
        row.map((value: unknown, t) => (mask[b]![t] === 1 ? value : 0)),
      );
    } else assertFiniteNumberArray(`values[${b}]`, row);
  });
  const isIn = (b: number, t: number) => mask === undefined || mask[b]![t] === 1;
  return whitenRows(values, isIn, options);
}
