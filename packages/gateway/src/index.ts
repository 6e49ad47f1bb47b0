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
export { OpenAiError } from './openai-error';
export type { EpisodeWaitReport, GatewayStatistics } from './rollout-gateway';
export { createRolloutGateway, cutAtStop, RolloutGateway } from './rollout-gateway';
export type { RolloutGatewayOptions } from './rollout-gateway-options';
export { RolloutGatewayOptionsSchema } from './rollout-gateway-options';
