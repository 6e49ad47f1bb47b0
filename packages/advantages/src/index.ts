export { ConfiguredAdvantageEstimator, createAdvantageEstimator } from './advantage-estimator';
export type {
  AdvantageEstimatorOptions,
  AdvantageEstimatorOptionsInput,
} from './advantage-estimator-options';
export {
  AdvantageEstimatorOptionsSchema,
  CriticEstimatorOptionsSchema,
  DrGrpoEstimatorOptionsSchema,
  GrpoEstimatorOptionsSchema,
  ReinforcePlusPlusEstimatorOptionsSchema,
  RlooEstimatorOptionsSchema,
} from './advantage-estimator-options';
export type { AdvantageEstimatorPresetName } from './advantage-estimator-presets';
export { advantageEstimatorPresets } from './advantage-estimator-presets';
export type { CriticAdvantagesOptions } from './critic-advantages';
export { criticAdvantages } from './critic-advantages';
export type { ExpandToTokensOptions } from './expand-to-tokens';
export { expandToTokens } from './expand-to-tokens';
export type {
  GroupBaseline,
  GroupRelativeAdvantagesOptions,
  GroupRelativeAdvantagesResult,
  GroupScale,
} from './group-relative-advantages';
export { groupRelativeAdvantages } from './group-relative-advantages';
export type { MultiRewardAdvantagesOptions } from './multi-reward-advantages';
export { multiRewardAdvantages } from './multi-reward-advantages';
export type {
  ReinforcePlusPlusAdvantagesOptions,
  ReinforcePlusPlusAdvantagesResult,
} from './reinforce-plus-plus-advantages';
export { reinforcePlusPlusAdvantages } from './reinforce-plus-plus-advantages';
export type { RlooAdvantagesOptions, RlooAdvantagesResult } from './rloo-advantages';
export { rlooAdvantages } from './rloo-advantages';
export type { NanRewards, SampleValidityOptions } from './sample-validity';
export type { ZeroSpreadOptions } from './zero-spread';
export { zeroSpreadGroupFraction, zeroSpreadGroupIndices } from './zero-spread';
