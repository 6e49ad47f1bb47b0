export { writeFileAtomic } from '@cohort/tfjs/node';
export type {
  AdapterPopulationOptions,
  AdapterPopulationState,
  LineageEntry,
  MemberFitnessRecord,
  PopulationAdoptionSummary,
  PopulationGenerationRecord,
  PopulationMember,
  PopulationStepResult,
} from './adapter-population';
export { AdapterPopulation } from './adapter-population';
export type {
  AdvantageRecord,
  AdvantageStage,
  AdvantageStageInput,
  CriticTargets,
} from './advantage-stage';
export { criticAdvantageStage, groupAdvantageStage } from './advantage-stage';
export type { TrainerAlgorithms } from './algorithm-registry';
export { resolveAlgorithms } from './algorithm-registry';
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
export { candidateRewardFromFunction, candidateRewardFromRewards } from './candidate-reward';
export type {
  CandidateActorLossOptions,
  CandidateActorLossResult,
} from './candidate-selector-actor-loss';
export { candidateActorLoss } from './candidate-selector-actor-loss';
export {
  criticBaselineAdvantages,
  transitionGroupAdvantages,
} from './candidate-selector-advantages';
export type {
  CandidateSelectorRunEvent,
  CandidateSelectorRunOptions,
  CandidateSelectorRunSummary,
  RunnableCandidateSelector,
} from './candidate-selector-run';
export { CandidateSelectorRun } from './candidate-selector-run';
export type {
  TrainableCandidateActor,
  TrainableRewardCritic,
} from './candidate-selector-trainable';
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
  CandidateSelectorOptions,
  CandidateSelectorOptionsInput,
} from './candidate-selector-trainer-options';
export { CandidateSelectorOptionsSchema } from './candidate-selector-trainer-options';
export type {
  CandidateUpdateRuleParts,
  ClippedCandidateUpdateResult,
  ClippedCandidateUpdateRuleState,
} from './candidate-selector-update-rule';
export {
  ClippedCandidateUpdateRule,
  createCandidateUpdateRule,
} from './candidate-selector-update-rule';
export type {
  CandidateUpdateRuleOptions,
  CandidateUpdateRuleOptionsInput,
} from './candidate-selector-update-rule-options';
export { CandidateUpdateRuleOptionsSchema } from './candidate-selector-update-rule-options';
export { ConversationTokens } from './conversation-tokens';
export type { CriticLearningResult } from './critic-learning-stage';
export { learnCritic } from './critic-learning-stage';
export { evaluatePolicy } from './evaluation-stage';
export type {
  GrpoTrainerOptions,
  GrpoTrainerState,
  StepResult,
  TrainerEvent,
} from './grpo-trainer';
export { GrpoTrainer } from './grpo-trainer';
export { validateTrainerOptions } from './grpo-trainer-options';
export type {
  GrpoTrainingOptions,
  GrpoTrainingOptionsInput,
  TrainerPresetName,
} from './grpo-training-options';
export {
  DynamicSamplingOptionsSchema,
  EvaluationOptionsSchema,
  EvolutionOptionsSchema,
  GrpoTrainingOptionsSchema,
  KlOptionsSchema,
  mergeConfig,
  PolicyOptimizerOptionsSchema,
  ReferenceRefreshOptionsSchema,
  RolloutGenerationOptionsSchema,
  resolveTrainingOptions,
  trainerPresets,
  ValueOptionsSchema,
} from './grpo-training-options';
export { createInProcessRolloutSource } from './in-process-rollout-source';
export { hyperparametersOfConfig, memberConfig } from './member-config';
export type { MetricsRecord } from './metrics-log';
export { MetricsLog, parseMetricsLog } from './metrics-log';
export type {
  LearnPolicyOptions,
  PolicyGradientWorkers,
  PolicyLearningResult,
} from './policy-learning-stage';
export { learnPolicy } from './policy-learning-stage';
export { createPolicyOptimizer } from './policy-optimizer';
export type {
  PolicyShardExtras,
  PolicyShardItem,
  PolicyShardShared,
} from './policy-shard-loss';
export { policyShardObjective } from './policy-shard-loss';
export { policyShardLossModule } from './policy-shard-loss-module';
export {
  applyPolicySnapshot,
  encodePolicySnapshot,
  type PolicySnapshotKind,
  policySnapshotKind,
} from './policy-snapshot';
export type {
  MemberHyperparameterName,
  PopulationScheduleOptions,
  PopulationScheduleOptionsInput,
} from './population-schedule-options';
export {
  defaultMemberHyperparameterSpace,
  memberHyperparameterNames,
  PopulationScheduleOptionsSchema,
  parsePopulationScheduleOptions,
  populationScheduleIssues,
} from './population-schedule-options';
export type { CreatePromptEvolutionOptions } from './prompt-evolution';
export { createPromptEvolution } from './prompt-evolution';
export type { ReferenceScores } from './reference-scoring-stage';
export { scoreReference } from './reference-scoring-stage';
export { refreshReference } from './refresh-reference';
export { shapeReturns } from './return-shaping-stage';
export type {
  RewardFailure,
  RewardRecord,
  RewardScoring,
  ScenarioLike,
  ScopeScores,
  ScoreEpisodeRewardsOptions,
  WeightedReward,
} from './reward-scoring-stage';
export { scoreEpisodeRewards, scoreRewardFunctions } from './reward-scoring-stage';
export type { RolloutOptions, RolloutResult } from './rollout';
export { collectEpisodes, rolloutGroups } from './rollout';
export type { CollectRolloutsOptions, RolloutCollection } from './rollout-collection-stage';
export { collectRollouts, refuseStaleGroups } from './rollout-collection-stage';
export type { RolloutSource, RolloutSourceRequest } from './rollout-source';
export { checkSourceGroups } from './rollout-source';
export { createRolloutTaskHandler, type RolloutTaskHandlerOptions } from './rollout-task-handler';
export {
  listStepCheckpoints,
  removeStaleCheckpointTemporaries,
  removeStaleTemporaries,
  truncateJsonLines,
} from './run-files';
export type { RunLock } from './run-lock';
export { acquireRunLock, lockFileName, RunLockedError } from './run-lock';
export type {
  EvaluationMetrics,
  NumericFieldName,
  StepMetricName,
  StepMetrics,
} from './step-metrics';
export { buildStepMetrics } from './step-metrics';
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
  GenerationRecord,
  PromptEvolution,
  RaisedDegenerationFlag,
  StepHealth,
  TrainingRunEvent,
  TrainingRunOptions,
  TrainingSummary,
} from './training-run';
export { runHealthThresholds, TrainingRun } from './training-run';
export type { TrajectoryRecord } from './trajectory-record';
export { buildTrajectoryRecords } from './trajectory-record';
export {
  type RolloutTaskPayload,
  type TransportRolloutCollection,
  TransportRolloutCollector,
  type TransportRolloutsState,
} from './transport-rollout-collection';
export {
  type TransportRolloutsOptions,
  type TransportRolloutsOptionsInput,
  TransportRolloutsOptionsSchema,
} from './transport-rollouts-options';
export type { TurnTargets } from './turn-advantages';
export { turnLevelAdvantages, turnTargets } from './turn-advantages';
export type { TrainableValueFunction } from './value-function';
export { GptValueFunction } from './value-function';
