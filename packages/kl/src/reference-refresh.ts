import { assertInteger, InvalidArgumentError, NonFiniteError, parseWithSchema } from '@cohort/core';
import {
  type ReferenceRefreshSchedule,
  ReferenceRefreshScheduleSchema,
} from './reference-refresh-options';

/** Named weight arrays of a model, as the trainer holds them. */
export type WeightMap = Record<string, Float32Array>;

/** Options of {@link mixReferenceWeights}. */
export interface MixReferenceWeightsOptions {
  /** The current reference weights. */
  reference: Readonly<WeightMap>;
  /** The current policy weights; same names and lengths. */
  policy: Readonly<WeightMap>;
  /** Weight of the policy in [0, 1]: 1 copies the policy, 0 keeps the reference. */
  alpha: number;
}

/**
 * The TR-DPO soft update of a reference model (Gorbatovski et al. 2024,
 * "Learn Your Reference Model for Real Good Alignment"), weight by weight:
 * `ref_new = alpha * policy + (1 - alpha) * ref`. Returns new arrays; the
 * inputs are not modified. `alpha = 1` is the hard update (a copy).
 *
 * @throws InvalidArgumentError when names or lengths differ or `alpha` is outside [0, 1];
 *   NonFiniteError when a result is not finite.
 * @example
 * ```ts
 * const next = mixReferenceWeights({ reference, policy, alpha: 0.1 });
 * ```
 */
export function mixReferenceWeights(options: MixReferenceWeightsOptions): WeightMap {
  const { reference, policy, alpha } = options;
  if (!(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1)) {
    throw new InvalidArgumentError({
      argument: 'alpha',
      value: alpha,
      message: 'must be a number in [0, 1]',
    });
  }
  const referenceNames = Object.keys(reference).sort();
  const policyNames = Object.keys(policy).sort();
  const missing = referenceNames.filter((name) => !(name in policy));
  const extra = policyNames.filter((name) => !(name in reference));
  if (missing.length > 0 || extra.length > 0) {
    throw new InvalidArgumentError({
      argument: 'policy',
      value: policyNames,
      message: `must have the weight names of reference (missing: ${missing.join(', ') || 'none'}; extra: ${extra.join(', ') || 'none'})`,
    });
  }
  const mixed: WeightMap = {};
  for (const name of referenceNames) {
    const referenceValues = reference[name]!;
    const policyValues = policy[name]!;
    if (referenceValues.length !== policyValues.length) {
      throw new InvalidArgumentError({
        argument: `policy.${name}`,
        value: policyValues,
        message: `must have the length of reference.${name}: ${referenceValues.length}, got ${policyValues.length}`,
      });
    }
    const out = new Float32Array(referenceValues.length);
    for (let index = 0; index < out.length; index++) {
      const value = alpha * policyValues[index]! + (1 - alpha) * referenceValues[index]!;
      if (!Number.isFinite(value)) {
        throw new NonFiniteError({
          quantity: `mixed weight ${name}[${index}]`,
          value,
          context: 'mixReferenceWeights',
        });
      }
      out[index] = value;
    }
    mixed[name] = out;
  }
  return mixed;
}

/** What {@link planReferenceRefresh} decided for one step. */
export type ReferenceRefreshDecision = { refresh: false } | { refresh: true; alpha: number };

/**
 * Decides whether to refresh the reference after optimizer step `step`
 * (counted from 1): a refresh happens when `step` is a multiple of
 * `everySteps`, with `alpha = 1` for `'hard'` and the configured alpha for
 * `'mix'`; never for `'none'`.
 *
 * @example
 * ```ts
 * const decision = planReferenceRefresh({ mode: 'mix', alpha: 0.5, everySteps: 4 }, 8); // { refresh: true, alpha: 0.5 }
 * if (decision.refresh) reference = mixReferenceWeights({ reference, policy, alpha: decision.alpha });
 * ```
 */
export function planReferenceRefresh(
  schedule: ReferenceRefreshSchedule,
  step: number,
): ReferenceRefreshDecision {
  const parsed = parseWithSchema(
    ReferenceRefreshScheduleSchema,
    schedule,
    'reference refresh schedule',
  );
  assertInteger('step', step, 1);
  if (parsed.mode === 'none' || step % parsed.everySteps !== 0) return { refresh: false };
  return { refresh: true, alpha: parsed.mode === 'hard' ? 1 : parsed.alpha };
}
