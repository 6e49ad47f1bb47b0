import type {
  PolicyOptimizer as CorePolicyOptimizer,
  RefreshableReferenceModel as CoreRefreshableReferenceModel,
  TrainablePolicy as CoreTrainablePolicy,
  ReferenceModel,
} from '@cohort/core';
import type { WeightMap } from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';

export type { OptimizerStepResult } from '@cohort/core';

/** The core `TrainablePolicy` protocol over tfjs tensors and {@link WeightMap}s. */
export type TrainablePolicy = CoreTrainablePolicy<tf.Tensor, tf.Variable, WeightMap>;

/** The core `RefreshableReferenceModel` protocol over {@link WeightMap}s. */
export type RefreshableReferenceModel = CoreRefreshableReferenceModel<WeightMap>;

/** The core `PolicyOptimizer` protocol over tfjs tensors. */
export type PolicyOptimizer = CorePolicyOptimizer<tf.Tensor>;

/** True when the reference model can be refreshed (a frozen copy, not a fixed base model). */
export function isRefreshable(model: ReferenceModel): model is RefreshableReferenceModel {
  const candidate = model as Partial<RefreshableReferenceModel>;
  return typeof candidate.getWeights === 'function' && typeof candidate.setWeights === 'function';
}
