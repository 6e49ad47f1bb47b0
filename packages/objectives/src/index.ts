export type { KlEstimator, LossAggregation } from '@cohort/kl';
export { aggregateTokenValues, assertFiniteTensor } from '@cohort/kl';
export type {
  ClippedSurrogateLossOptions,
  SurrogateInputs,
  SurrogateMetrics,
} from './clipped-surrogate-loss';
export { clippedSurrogateLoss, MAX_LOG_RATIO } from './clipped-surrogate-loss';
export type { ComputeOverrides, SurrogateObjective } from './create-objective';
export { createObjective, resolveObjectiveConfig } from './create-objective';
export type {
  ObjectiveConfig,
  ObjectivePresetName,
  RatioLevel,
  SurrogateSettings,
} from './objective-options';
export {
  ObjectiveConfigSchema,
  ObjectivePresetNameSchema,
  RatioLevelSchema,
} from './objective-options';
export { dapo, drGrpo, grpo, gspo, objectivePresets, ppo, vanillaPg } from './presets';
