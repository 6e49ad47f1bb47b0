export { ConversationTokens } from './conversation-tokens';
export type { RewardFailure, RolloutOptions, RolloutResult, WeightedReward } from './rollout';
export { rolloutGroups } from './rollout';
