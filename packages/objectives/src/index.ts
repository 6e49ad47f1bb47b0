export type { KlEstimatorName, LossAggregation } from '@cohort/kl';
export { aggregateTokenValues, assertFiniteTensor } from '@cohort/kl';
export type {
  ClippedSurrogateLossOptions,
  SurrogateInputs,
  SurrogateMetrics,
} from './clipped-surrogate-loss';
export { clippedSurrogateLoss, MAX_LOG_RATIO } from './clipped-surrogate-loss';
export type {
  ComputeOverrides,
  CreateObjectiveInstances,
  SurrogateObjective,
} from './create-objective';
export { createObjective, resolveObjectiveOptions } from './create-objective';
export type { EntropyControllerState } from './entropy-controller';
export { AdaptiveEntropyController, createAdaptiveEntropyController } from './entropy-controller';
export type { AdaptiveEntropyControllerOptions } from './entropy-controller-options';
export { AdaptiveEntropyControllerOptionsSchema } from './entropy-controller-options';
export { entropyFromLogits } from './entropy-from-logits';
export type { HighEntropyMaskOptions } from './high-entropy-mask';
export { highEntropyMask, linearQuantile } from './high-entropy-mask';
export type {
  ObjectiveOptions,
  ObjectivePresetName,
  PolicyLoss,
  RatioLevel,
  SamplerCorrection,
  SurrogateOptions,
} from './objective-options';
export {
  ObjectiveOptionsSchema,
  ObjectivePresetNameSchema,
  PolicyLossSchema,
  RatioLevelSchema,
  SamplerCorrectionSchema,
} from './objective-options';
export {
  bnpo,
  cispo,
  dapo,
  drGrpo,
  grpo,
  gspo,
  objectivePresets,
  ppo,
  sapo,
  vanillaPg,
} from './presets';
export type { SampledEntropyOptions } from './sampled-entropy';
export { sampledEntropy } from './sampled-entropy';
export { stopGradient } from './stop-gradient';
