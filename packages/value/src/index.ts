export type {
  BatchedGaeResult,
  BatchedGeneralizedAdvantageEstimationOptions,
} from './batched-generalized-advantage-estimation';
export { batchedGeneralizedAdvantageEstimation } from './batched-generalized-advantage-estimation';
export type { DiscountedReturnsOptions } from './discounted-returns';
export { discountedReturns } from './discounted-returns';
export type { GaeOptions, MaskedPositions } from './gae-options';
export { GaeOptionsSchema, MaskedPositionsSchema } from './gae-options';
export type {
  GaeResult,
  GaeTrajectory,
  GeneralizedAdvantageEstimationOptions,
} from './generalized-advantage-estimation';
export { generalizedAdvantageEstimation } from './generalized-advantage-estimation';
export type { MaskedWhitenOptions, MaskedWhitenSettings } from './masked-whiten';
export { maskedWhiten, whitenRows } from './masked-whiten';
export type {
  TokenReinforcePlusPlusOptions,
  TokenReinforcePlusPlusResult,
} from './token-reinforce-plus-plus';
export { tokenReinforcePlusPlusAdvantages } from './token-reinforce-plus-plus';
export type {
  ValueLossMetrics,
  ValueLossOptions,
  ValueLossResult,
} from './value-loss';
export { valueLoss } from './value-loss';
export type { ValueLossAggregation, ValueLossConfig } from './value-loss-options';
export { ValueLossAggregationSchema, ValueLossConfigSchema } from './value-loss-options';
