import type { Message } from './message';

/** Options of {@link Tokenizer.applyChatTemplate}. */
export interface ChatTemplateOptions {
  /** Append the tokens that open an assistant turn (default true). */
  addGenerationPrompt?: boolean;
}

/**
 * Turns text into token ids and back, and renders conversations with a chat
 * template.
 *
 * Guarantees an implementation must keep:
 * - `encode` and `decode` are deterministic; `decode(encode(text))` returns
 *   `text` for any text the tokenizer can represent.
 * - `applyChatTemplate(messages.slice(0, k))` is a prefix of
 *   `applyChatTemplate(messages)` when `addGenerationPrompt` is false, so that
 *   a conversation can be extended token by token without re-encoding what a
 *   policy sampled. Trainers check this and refuse templates that break it.
 * - Every id is in `[0, vocabSize)`.
 */
export interface Tokenizer {
  readonly vocabSize: number;
  /** Id that ends a sequence (also used to end an assistant turn if `endOfTurnTokenId` is absent). */
  readonly eosTokenId: number;
  /** Id used for padding batches; may equal `eosTokenId`. */
  readonly padTokenId: number;
  /** Id that closes a chat turn (for example `<|im_end|>`), when the template has one. */
  readonly endOfTurnTokenId?: number;
  encode(text: string): number[];
  decode(tokenIds: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  applyChatTemplate(messages: readonly Message[], options?: ChatTemplateOptions): number[];
}
