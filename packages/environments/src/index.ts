export type { BanditState } from './bandit';
export { Bandit, createBandit } from './bandit';
export type {
  BanditEnvironmentOptions,
  BanditEnvironmentOptionsInput,
  BanditTask,
} from './bandit-environment';
export {
  BanditEnvironment,
  BanditEnvironmentOptionsSchema,
  BanditEpisode,
  createBanditEnvironment,
  parseArmChoice,
} from './bandit-environment';
export type { BanditDrift, BanditOptions, BanditOptionsInput } from './bandit-options';
export { BanditDriftSchema, BanditOptionsSchema } from './bandit-options';
export { classifierReward } from './classifier-reward';
export type {
  ClassifierLabelScore,
  ClassifierRewardOptionsInput,
} from './classifier-reward-options';
export { ClassifierRewardOptionsSchema } from './classifier-reward-options';
export type { CompositeRewardResult } from './composite-reward';
export { CompositeReward, compositeReward } from './composite-reward';
export type {
  CompositeRewardOptions,
  CompositeRewardOptionsInput,
} from './composite-reward-options';
export { CompositeRewardOptionsSchema } from './composite-reward-options';
export {
  ConversationEnvironment,
  ConversationEpisode,
  createConversationEnvironment,
} from './conversation-environment';
export type {
  ConversationEnvironmentOptions,
  ConversationEnvironmentOptionsInput,
} from './conversation-environment-options';
export {
  ConversationEnvironmentOptionsSchema,
  defaultSupportSystemPrompt,
} from './conversation-environment-options';
export type {
  DegenerationFlag,
  DetectDegeneratePolicyOptions,
  PolicySnapshot,
} from './degenerate-policy';
export { detectDegeneratePolicy, policySnapshot } from './degenerate-policy';
export { cosineSimilarity, embeddingSimilarityReward } from './embedding-similarity-reward';
export type { EmbeddingSimilarityRewardOptionsInput } from './embedding-similarity-reward-options';
export { EmbeddingSimilarityRewardOptionsSchema } from './embedding-similarity-reward-options';
export { EpisodeDoneError } from './episode-done-error';
export type { FormatCheckResults } from './format-reward';
export { formatChecks, formatReward } from './format-reward';
export type { FormatRewardOptions, FormatRewardOptionsInput } from './format-reward-options';
export { FormatRewardOptionsSchema } from './format-reward-options';
export { goalCompletionReward } from './goal-completion-reward';
export type { GoalCompletionRewardOptionsInput } from './goal-completion-reward-options';
export { GoalCompletionRewardOptionsSchema } from './goal-completion-reward-options';
export type { HumanFeedbackReward, HumanFeedbackStats } from './human-feedback-reward';
export { humanFeedbackReward } from './human-feedback-reward';
export type {
  AskForFeedback,
  HumanFeedbackRewardOptionsInput,
} from './human-feedback-reward-options';
export { HumanFeedbackRewardOptionsSchema } from './human-feedback-reward-options';
export type {
  JudgeCallReport,
  JudgedTrajectory,
  JudgeGroupResult,
} from './judge-ranker';
export { createJudgeRanker, JudgeRanker, withGroupScores } from './judge-ranker';
export type {
  JudgeRankerOptions,
  JudgeRankerOptionsInput,
  JudgeScoreCache,
} from './judge-ranker-options';
export { defaultJudgeRubric, JudgeRankerOptionsSchema } from './judge-ranker-options';
export { keywordReward } from './keyword-reward';
export type { KeywordRewardOptionsInput } from './keyword-reward-options';
export { KeywordRewardOptionsSchema } from './keyword-reward-options';
export { lengthReward, overlongPenalty } from './length-reward';
export type { LengthRewardOptions, LengthRewardOptionsInput } from './length-reward-options';
export { LengthRewardOptionsSchema } from './length-reward-options';
export type { OpenAiCompatibleChatModelOptions } from './openai-compatible-chat-model';
export {
  createOpenAiCompatibleChatModel,
  OpenAiCompatibleChatModelOptionsSchema,
} from './openai-compatible-chat-model';
export type { GenerateDialoguesOptions, ReferenceAgentOptions } from './reference-agent';
export { generateDialogues, referenceAgentReply } from './reference-agent';
export { regexReward } from './regex-reward';
export type { RegexRewardOptionsInput } from './regex-reward-options';
export { RegexRewardOptionsSchema } from './regex-reward-options';
export type { ReplyDiversity } from './reply-diversity';
export { replyDiversity } from './reply-diversity';
export type { RewardTarget } from './reward-text';
export { RewardTargetSchema } from './reward-text';
export type { ScenarioSet } from './scenario-sets';
export { getScenarioSet, scenarioSets } from './scenario-sets';
export type { ScriptedProgress } from './scripted-user-simulator';
export {
  createScriptedUserSimulator,
  ScriptedUserSimulator,
  scriptedProgress,
} from './scripted-user-simulator';
export type {
  ScriptedUserSimulatorOptions,
  ScriptedUserSimulatorOptionsInput,
} from './scripted-user-simulator-options';
export { ScriptedUserSimulatorOptionsSchema } from './scripted-user-simulator-options';
export type { CriterionResult, SuccessCriteriaResult } from './success-criteria';
export { evaluateSuccessCriteria } from './success-criteria';
export type { CheckSupportDeskEpisodeOptions, SupportDeskCheck } from './support-desk-check';
export {
  checkSupportDeskEpisode,
  inventedOrderIds,
  supportDeskOrderIdPattern,
} from './support-desk-check';
export type {
  SupportDeskAction,
  SupportDeskCustomer,
  SupportDeskDatabase,
  SupportDeskOrder,
  SupportDeskPolicy,
  SupportDeskProduct,
  SupportDeskState,
} from './support-desk-database';
export {
  formatCents,
  SupportDeskBackend,
  SupportDeskDatabaseSchema,
  supportDeskState,
  supportDeskTools,
} from './support-desk-database';
export { createSupportDeskEnvironment, SupportDeskEnvironment } from './support-desk-environment';
export type {
  SupportDeskEnvironmentOptions,
  SupportDeskEnvironmentOptionsInput,
} from './support-desk-environment-options';
export { SupportDeskEnvironmentOptionsSchema } from './support-desk-environment-options';
export type {
  SupportDeskUser,
  SupportDeskUserCallReport,
  SupportDeskUserCounts,
  SupportDeskUserFallbackReason,
  SupportDeskUserInput,
  SupportDeskUserTurnCheck,
} from './support-desk-llm-user';
export {
  checkSupportDeskUserTurn,
  createSupportDeskLlmUser,
  SupportDeskLlmUser,
  supportDeskUserFallbackReasons,
  supportDeskUserPrompt,
} from './support-desk-llm-user';
export type {
  SupportDeskLlmUserCache,
  SupportDeskLlmUserOptions,
  SupportDeskLlmUserOptionsInput,
} from './support-desk-llm-user-options';
export {
  defaultSupportDeskStopMarker,
  SupportDeskLlmUserOptionsSchema,
} from './support-desk-llm-user-options';
export type { GenerateSupportDeskDialoguesOptions } from './support-desk-reference-agent';
export {
  generateSupportDeskDialogues,
  supportDeskActionTools,
  supportDeskReferenceReply,
  supportDeskRequest,
  supportDeskReturnWindow,
} from './support-desk-reference-agent';
export type {
  SupportDeskTask,
  SupportDeskTaskKind,
  SupportDeskTasksOptions,
} from './support-desk-tasks';
export {
  expectedSupportDeskState,
  productLine,
  SupportDeskTaskSchema,
  supportDeskSystemPrompt,
  supportDeskTaskKinds,
  supportDeskTasks,
} from './support-desk-tasks';
export type { SupportDeskAskedFacts, SupportDeskUserReply } from './support-desk-user';
export { supportDeskAskedFacts, supportDeskUserReply } from './support-desk-user';
export type { SupportCategory, SupportScenariosOptions } from './support-scenarios';
export {
  supportCategories,
  supportReferenceLines,
  supportScenarioCounts,
  supportScenarios,
} from './support-scenarios';
export type { ToolCallMetrics } from './tool-call-metrics';
export { toolCallMetrics } from './tool-call-metrics';
export type { ParsedToolCall, ParsedToolCalls } from './tool-call-parser';
export { formatToolCalls, parseToolCalls } from './tool-call-parser';
export type { ToolEpisodeUser } from './tool-environment';
export { createToolEnvironment, ToolEnvironment, ToolEpisode } from './tool-environment';
export type {
  CreateToolTaskInput,
  ToolEnvironmentOptions,
  ToolEnvironmentOptionsInput,
  ToolTask,
  ToolTaskReply,
} from './tool-environment-options';
export { ToolEnvironmentOptionsSchema } from './tool-environment-options';
export type { ToolDefinition, ToolPromptStyle } from './tool-prompt';
export {
  toolDefinition,
  toolInstructions,
  toolInstructionsFor,
  toolPromptStyles,
} from './tool-prompt';
export type { RunToolCallsOptions, ToolCallsOutcome } from './tool-runner';
export { runToolCalls } from './tool-runner';
