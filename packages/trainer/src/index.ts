export { ConversationTokens } from './conversation-tokens';
export type { RewardFailure, RolloutOptions, RolloutResult, WeightedReward } from './rollout';
export { rolloutGroups } from './rollout';
export { writeFileAtomic } from './atomic-file';
export { GrpoTrainer } from './grpo-trainer';
export type {
  EvaluationMetrics,
  GrpoTrainerOptions,
  GrpoTrainerState,
  StepMetrics,
  TrainerEvent,
} from './grpo-trainer';
export { MetricsLog, parseMetricsLog } from './metrics-log';
export type { MetricsRecord } from './metrics-log';
export type { ScenarioLike } from './rollout';
export { isRefreshable } from './trainable-policy';
export type {
  OptimizerStepResult,
  PolicyOptimizer,
  RefreshableReferenceModel,
  TrainablePolicy,
} from './trainable-policy';
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
  GrpoTrainerConfig,
  GrpoTrainerConfigInput,
  TrainerPresetName,
} from './trainer-config';
export { TrainingRun } from './training-run';
export type {
  GenerationRecord,
  PromptEvolution,
  TrainingRunEvent,
  TrainingRunOptions,
  TrainingSummary,
} from './training-run';
