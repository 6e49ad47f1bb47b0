export { writeFileAtomic } from '@cohort/tfjs';
export type { CandidateMlpOptions } from './candidate-models';
export { MlpCandidateActor, MlpRewardCritic } from './candidate-models';
export type {
  CandidateGenerator,
  CandidateQuery,
  CandidateRewardSource,
  CandidateSelectorEvent,
  CandidateSelectorTrainerOptions,
} from './candidate-selector-trainer';
export { CandidateSelectorTrainer } from './candidate-selector-trainer';
export { ConversationTokens } from './conversation-tokens';
export {
  createGproOptimizer,
  gproActorLoss,
  MlpGproOptimizer,
  transitionGroupAdvantages,
} from './gpro-optimizer';
export type { GproOptimizerOptions, GproOptimizerOptionsInput } from './gpro-optimizer-options';
export { GproOptimizerOptionsSchema } from './gpro-optimizer-options';
export type {
  EvaluationMetrics,
  GrpoTrainerOptions,
  GrpoTrainerState,
  StepMetrics,
  TrainerEvent,
} from './grpo-trainer';
export { GrpoTrainer } from './grpo-trainer';
export type { MetricsRecord } from './metrics-log';
export { MetricsLog, parseMetricsLog } from './metrics-log';
export type { CreatePromptEvolutionOptions } from './prompt-evolution';
export { createPromptEvolution } from './prompt-evolution';
export type {
  RewardFailure,
  RolloutOptions,
  RolloutResult,
  ScenarioLike,
  WeightedReward,
} from './rollout';
export { rolloutGroups } from './rollout';
export type {
  OptimizerStepResult,
  PolicyOptimizer,
  RefreshableReferenceModel,
  TrainablePolicy,
} from './trainable-policy';
export { isRefreshable } from './trainable-policy';
export type {
  GrpoTrainerConfig,
  GrpoTrainerConfigInput,
  TrainerPresetName,
} from './trainer-config';
export {
  DynamicSamplingConfigSchema,
  EvaluationConfigSchema,
  EvolutionConfigSchema,
  GenerationConfigSchema,
  GrpoTrainerConfigSchema,
  KlConfigSchema,
  mergeConfig,
  OptimizerConfigSchema,
  ReferenceRefreshConfigSchema,
  resolveTrainerConfig,
  trainerPresets,
  ValueConfigSchema,
} from './trainer-config';
export type {
  GenerationRecord,
  PromptEvolution,
  TrainingRunEvent,
  TrainingRunOptions,
  TrainingSummary,
} from './training-run';
export { TrainingRun } from './training-run';
export type { TurnTargets } from './turn-advantages';
export { turnLevelAdvantages, turnTargets } from './turn-advantages';
export type { TrainableValueFunction } from './value-function';
export { GptValueFunction } from './value-function';
