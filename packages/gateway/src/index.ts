export type { ChatCompletionRequest, ChatMessage } from './chat-request';
export { ChatCompletionRequestSchema, ChatMessageSchema } from './chat-request';
export type {
  AssistantEcho,
  CallPlacement,
  Episode,
  RecordedCall,
  Segment,
} from './episode-recorder';
export { EpisodeRecorder, episodeTrajectories } from './episode-recorder';
export type { EpisodeTask } from './episode-task';
export type { GatewayCollectReport, GatewayEvaluation } from './gateway-rollout-source';
export { createGatewayRolloutSource, GatewayRolloutSource } from './gateway-rollout-source';
export type { GatewayRolloutSourceOptions } from './gateway-rollout-source-options';
export { GatewayRolloutSourceOptionsSchema } from './gateway-rollout-source-options';
export { OpenAiError } from './openai-error';
export type { EpisodeWaitReport, GatewayStatistics } from './rollout-gateway';
export { createRolloutGateway, cutAtStop, RolloutGateway } from './rollout-gateway';
export type { RolloutGatewayOptions } from './rollout-gateway-options';
export { RolloutGatewayOptionsSchema } from './rollout-gateway-options';
