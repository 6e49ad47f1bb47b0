import type { ReferenceModel } from '@cohort/core';
import { mixReferenceWeights } from '@cohort/kl';
import { isRefreshable, type TrainablePolicy } from './trainable-policy';

/**
 * The reference-refresh stage: every `everySteps` steps, `hard` copies the
 * policy into the reference and `mix` moves it part way,
 * `ref = alpha * policy + (1 - alpha) * ref` (TR-DPO, Gorbatovski et al. 2024).
 * A reference that cannot be refreshed is left alone (the trainer refuses that
 * combination at construction).
 *
 * @example
 * ```ts
 * refreshReference({ mode: 'mix', everySteps: 10, alpha: 0.1, step: 20, policy, referenceModel });
 * ```
 */
export function refreshReference(options: {
  mode: 'none' | 'hard' | 'mix';
  everySteps: number;
  alpha: number;
  /** Steps completed, counting this one. */
  step: number;
  policy: TrainablePolicy;
  referenceModel: ReferenceModel | undefined;
}): void {
  const { mode, referenceModel } = options;
  if (mode === 'none' || !referenceModel || options.step % options.everySteps !== 0) return;
  if (!isRefreshable(referenceModel)) return;
  const policyWeights = options.policy.getWeights();
  if (mode === 'hard') {
    referenceModel.setWeights(policyWeights);
    return;
  }
  const reference = referenceModel.getWeights();
  const mixed = mixReferenceWeights({
    reference: Object.fromEntries(
      Object.entries(reference).map(([name, tensor]) => [name, tensor.data]),
    ),
    policy: Object.fromEntries(
      Object.entries(policyWeights).map(([name, tensor]) => [name, tensor.data]),
    ),
    alpha: options.alpha,
  });
  referenceModel.setWeights(
    Object.fromEntries(
      Object.entries(reference).map(([name, tensor]) => [
        name,
        { shape: tensor.shape, data: mixed[name]! },
      ]),
    ),
  );
}
