export type {
  AppConfig,
  AppConfigInput,
  AppConfigOverrides,
  EngineConfig,
  EnvironmentConfig,
  PolicyConfig,
  PresetName,
  RewardConfig,
} from './app-config';
export {
  AppConfigSchema,
  defaultAppConfigInput,
  defaultModelDirectory,
  EngineConfigSchema,
  EnvironmentConfigSchema,
  PolicyConfigSchema,
  PromptEvolutionConfigSchema,
  presetNames,
  RewardConfigSchema,
  readConfigFile,
  resolveAppConfig,
} from './app-config';
export type { ChatEngine } from './chat-engines';
export { chatEngines } from './chat-engines';
export type { ChatModel, ChatSampleOptions, LoadChatModelOptions } from './chat-model';
export { loadChatModel } from './chat-model';
export { runCli } from './cli';
export type { CliIo } from './cli-io';
export { processIo } from './cli-io';
export type { Command, CommandName } from './command-line';
export { commandNames, helpText, parseCommandLine } from './command-line';
export { zodIssuesWithAllowedValues } from './config-issues';
export type { EvaluatedConversation, EvaluateModelOptions } from './evaluate-model';
export { evaluateModel } from './evaluate-model';
export type { ExitCode } from './exit-codes';
export { exitCodeFor, exitCodes, formatError, InterruptedError, UsageError } from './exit-codes';
export type { ProgressDisplayOptions, ProgressOutput, StepProgress } from './progress';
export { formatDuration, ProgressDisplay } from './progress';
export type { RenderReportOptions } from './report';
export { renderReport } from './report';
export type { RunContents, RunPaths, SampleRecord } from './run-directory';
export {
  createRunDirectory,
  readRun,
  runDirectoryName,
  runPaths,
  writeJsonAtomic,
} from './run-directory';
export type { SftOptions, SftResult } from './sft';
export { trainSupportAgent } from './sft';
export type { DegradeOptions } from './sft-dialogues';
export { assistantLossMask, degradeDialogues, degradeReply, vagueReplies } from './sft-dialogues';
export type { LinePlotOptions, PlotSeries } from './svg-plot';
export { escapeHtml, niceTicks, plotColors, renderLinePlot } from './svg-plot';
export type { CreateTrainerOptions, EnvironmentSetup } from './training-setup';
export { createEnvironmentSetup, createRewards, createTrainer } from './training-setup';
export type { EnvironmentModule } from './user-module';
export { importUserModule, loadEnvironmentModule, loadRewardModule } from './user-module';
