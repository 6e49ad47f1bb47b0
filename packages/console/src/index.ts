export type {
  ConsoleChat,
  ConsoleChatMessage,
  ConsoleServer,
  ConsoleServerOptions,
  ConsoleToolChatState,
  ConsoleToolRequest,
  ConsoleToolScenario,
} from './console-server';
export { createConsoleServer } from './console-server';
export type { ConsoleServerSettings, ConsoleServerSettingsInput } from './console-server-options';
export { ConsoleServerOptionsSchema } from './console-server-options';
export type { FeedbackItem, FeedbackRating } from './feedback-broker';
export { FeedbackBroker, feedbackFileName } from './feedback-broker';
export type { TailUpdate } from './json-lines-tail';
export { JsonLinesTail } from './json-lines-tail';
export type { CatalogRun } from './run-catalog';
export { parseJsonLines, resolveRuns, runFileNames } from './run-catalog';
export type {
  PerTokenValues,
  TrajectoryLine,
  TrajectoryTokenRecord,
  TrajectoryTurnRecord,
} from './trajectory-record';
export { trajectoryLine } from './trajectory-record';
export { defaultWebDirectory } from './web-directory';
