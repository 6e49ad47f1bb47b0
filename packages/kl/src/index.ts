export { assertFiniteTensor } from './assert-finite-tensor';
export { clampPreservingNaN } from './clamp-preserving-nan';
export type { ExactKlOptions } from './exact-kl';
export { exactKl, exactKlTensor } from './exact-kl';
export type { KlController, KlControllerState } from './kl-controller';
export {
  ADAPTIVE_KL_ERROR_CLIP,
  AdaptiveKlController,
  createKlController,
  FixedKlController,
} from './kl-controller';
export type {
  AdaptiveKlControllerOptions,
  FixedKlControllerOptions,
  KlControllerOptions,
} from './kl-controller-options';
export {
  AdaptiveKlControllerOptionsSchema,
  FixedKlControllerOptionsSchema,
  KlControllerOptionsSchema,
} from './kl-controller-options';
export { createKlEstimator } from './kl-estimator';
export type { KlEstimatorName, KlEstimatorOptions } from './kl-estimator-options';
export { KlEstimatorOptionsSchema, KlEstimatorSchema } from './kl-estimator-options';
export type { KlLossOptions } from './kl-loss';
export { klLoss } from './kl-loss';
export type { KlPenalizedRewardsOptions } from './kl-penalized-rewards';
export { klPenalizedRewards } from './kl-penalized-rewards';
export type { KlPerTokenOptions } from './kl-per-token';
export { K3_LINEAR_ABOVE, k3OfLogRatioTensor, klPerToken, klPerTokenTensor } from './kl-per-token';
export type { AggregateTokenValuesOptions } from './loss-aggregation';
export { aggregateTokenValues } from './loss-aggregation';
export type { EmptyRows, LossAggregation } from './loss-aggregation-options';
export { EmptyRowsSchema, LossAggregationSchema } from './loss-aggregation-options';
export type {
  MixReferenceWeightsOptions,
  ReferenceRefreshDecision,
  WeightMap,
} from './reference-refresh';
export { mixReferenceWeights, planReferenceRefresh } from './reference-refresh';
export type { ReferenceRefreshSchedule } from './reference-refresh-options';
export { ReferenceRefreshScheduleSchema } from './reference-refresh-options';
