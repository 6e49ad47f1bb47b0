export type { AdvantageEstimator, AdvantageInput, AdvantageResult } from './advantage-estimator';
export type {
  CandidateActor,
  CandidateUpdateResult,
  CandidateUpdateRule,
  RewardCritic,
  Transition,
} from './candidate-selector';
export type { ChatCompletionRequest, ChatModel } from './chat-model';
export type { CheckpointManifest } from './checkpoint';
export { CheckpointManifestSchema } from './checkpoint';
export type {
  EndReason,
  Environment,
  Episode,
  StepResult,
  UserReply,
  UserSimulator,
  UserSimulatorInput,
} from './environment';
export type { ValidationIssue } from './errors';
export {
  CheckpointError,
  CohortError,
  InvalidArgumentError,
  NonFiniteError,
  ValidationError,
} from './errors';
export type {
  FitnessFunction,
  GenerationSummary,
  Genome,
  GenomeOperators,
  Population,
} from './evolution';
export type { KlEstimator, KlEstimatorInput } from './kl-estimator';
export type { Message, Role } from './message';
export { MessageSchema } from './message';
export type {
  Objective,
  ObjectiveContext,
  ObjectiveInput,
  ObjectiveMetrics,
  ObjectiveOutput,
} from './objective';
export type {
  FinishReason,
  GenerationOptions,
  Policy,
  ReferenceModel,
  SampledCompletion,
  SampledTokens,
  SampleRequest,
  TokenLogProbs,
  TokenLogProbsRequest,
} from './policy';
export type { RandomState } from './random';
export { Random } from './random';
export type { Featurizer, RewardContext, RewardFunction } from './reward-function';
export type {
  RewardFailure,
  RolloutCollection,
  RolloutSource,
  RolloutSourceRequest,
  ScenarioLike,
} from './rollout-source';
export { sampleContextFree } from './sample-context-free';
export {
  assertSamplingSettings,
  assertTokenId,
  assertTokenIds,
  validateSampleRequest,
} from './sample-request-validation';
export type { Scenario, ScenarioInput, SuccessCriterion, UserScript } from './scenario';
export { ScenarioSchema, SuccessCriterionSchema, UserScriptSchema } from './scenario';
export type { ChatTemplateOptions, Tokenizer } from './tokenizer';
export type {
  Tool,
  ToolCall,
  ToolCallErrorKind,
  ToolCallFormat,
  ToolCallRecord,
  ToolExecutionContext,
} from './tool';
export {
  defineTool,
  ToolCallRecordSchema,
  toolCallErrorKinds,
  toolCallFormats,
} from './tool';
export type {
  OptimizerStepResult,
  PolicyOptimizer,
  RefreshableReferenceModel,
  TrainablePolicy,
} from './trainable-policy';
export type { Trajectory, TrajectoryGroup, Turn } from './trajectory';
export { TrajectorySchema, TurnSchema } from './trajectory';
export {
  assertFiniteArray,
  assertInRange,
  assertInteger,
  assertOneOf,
  parseWithSchema,
} from './validate';
export type { ValueFunction } from './value-function';
