export { writeFileAtomic } from '@cohort/tfjs';
export {
  CallTimeoutError,
  environmentWithTimeout,
  rewardWithTimeout,
  withCallTimeout,
} from './call-timeout';
export type { HashingFeaturizerOptionsInput } from './candidate-hashing-featurizer';
export {
  createHashingFeaturizer,
  HashingFeaturizerOptionsSchema,
} from './candidate-hashing-featurizer';
export type { CandidateMlpOptions, CandidateMlpOptionsInput } from './candidate-mlp-options';
export { CandidateMlpOptionsSchema } from './candidate-mlp-options';
export { CandidateMlp, MlpCandidateActor, MlpRewardCritic } from './candidate-models';
export type {
  CandidateQuery,
  CandidateRewardInput,
  CandidateRewardSource,
} from './candidate-reward';
export { candidateRewardFromFunction } from './candidate-reward';
export type {
  CandidateDecision,
  CandidateEvaluation,
  CandidateGenerator,
  CandidateSelectorEvent,
  CandidateSelectorState,
  CandidateSelectorTrainerOptions,
  CandidateSkipReason,
  CandidateStepSummary,
} from './candidate-selector-trainer';
export { CandidateSelectorTrainer } from './candidate-selector-trainer';
export type {
  CandidateSelectorSettings,
  CandidateSelectorSettingsInput,
} from './candidate-selector-trainer-options';
export { CandidateSelectorSettingsSchema } from './candidate-selector-trainer-options';
export { ConversationTokens } from './conversation-tokens';
export type { GproActorLossOptions, GproActorLossResult } from './gpro-actor-loss';
export { gproActorLoss } from './gpro-actor-loss';
export { criticBaselineAdvantages, transitionGroupAdvantages } from './gpro-advantages';
export type {
  ClippedGproOptimizerState,
  ClippedGproUpdateResult,
  GproOptimizerParts,
} from './gpro-optimizer';
export { ClippedGproOptimizer, createGproOptimizer } from './gpro-optimizer';
export type { GproOptimizerOptions, GproOptimizerOptionsInput } from './gpro-optimizer-options';
export { GproOptimizerOptionsSchema } from './gpro-optimizer-options';
export type { TrainableCandidateActor, TrainableRewardCritic } from './gpro-trainable';
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
export type { ReplyDiversity } from './reply-diversity';
export { replyDiversity } from './reply-diversity';
export type {
  RewardFailure,
  RolloutOptions,
  RolloutResult,
  ScenarioLike,
  WeightedReward,
} from './rollout';
export { rolloutGroups } from './rollout';
export {
  removeStaleCheckpointTemporaries,
  removeStaleTemporaries,
  truncateJsonLines,
} from './run-files';
export type { RunLock } from './run-lock';
export { acquireRunLock, lockFileName, RunLockedError } from './run-lock';
export type {
  CategoryEvaluation,
  Interval,
  ScenarioResult,
  StratifiedEvaluationMetrics,
  StratifiedEvaluationOptions,
} from './stratified-evaluation';
export {
  evaluateStratified,
  evaluationGain,
  scenarioCategory,
  stratifiedBootstrapInterval,
  stratifiedScenarios,
} from './stratified-evaluation';
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
export { runHealthThresholds, TrainingRun } from './training-run';
export type { TurnTargets } from './turn-advantages';
export { turnLevelAdvantages, turnTargets } from './turn-advantages';
export type { TrainableValueFunction } from './value-function';
export { GptValueFunction } from './value-function';
