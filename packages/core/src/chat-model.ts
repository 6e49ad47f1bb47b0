import type { Message } from './message';

/** Input of {@link ChatModel.complete}. */
export interface ChatCompletionRequest {
  messages: readonly Message[];
  /** Aborts the request (a timeout, a cancelled run). */
  signal: AbortSignal;
  /** Longest answer in tokens. */
  maxTokens: number;
  /** Sampling temperature (0: greedy where the model supports it). */
  temperature: number;
  /** Seed for implementations that sample locally. */
  seed: number;
}

/**
 * A model that answers a conversation with text: a judge, a user simulator,
 * a rewriter. Implementations: a transformers.js model run locally, or any
 * OpenAI-compatible endpoint.
 *
 * Guarantees: resolves with the answer's text or rejects; honours `signal`
 * where it can (a local model may finish its current step first).
 */
export interface ChatModel {
  readonly name: string;
  complete(request: ChatCompletionRequest): Promise<string>;
}
