import type { Message } from '@cohort/core';
import type { ChatModel } from './chat-model';

/**
 * The agent's next reply to a conversation (system prompt first): the chat
 * template with the generation prompt, the oldest turns dropped (the system
 * prompt kept) when the context would overflow, sampling up to the end of
 * the turn. `messages` may be shortened in place by the dropped turns.
 * Shared by the terminal chat and the console's chat page.
 *
 * @example
 * ```ts
 * const reply = await replyTo({ model: await loadChatModel(directory), messages, maxNewTokens: 64, temperature: 0, seed: 0 });
 * ```
 */
export async function replyTo(options: {
  model: ChatModel;
  messages: Message[];
  maxNewTokens: number;
  temperature: number;
  seed: number;
}): Promise<string> {
  const { model, messages, maxNewTokens } = options;
  const { tokenizer, contextLength } = model;
  let prompt = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  while (prompt.length + maxNewTokens > contextLength && messages.length > 2) {
    messages.splice(1, 1);
    prompt = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  }
  const room = Math.max(1, Math.min(maxNewTokens, contextLength - prompt.length));
  const tokenIds = await model.sample({
    prompt: prompt.slice(-(contextLength - 1)),
    maxNewTokens: room,
    temperature: options.temperature,
    stopTokenIds: [tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId],
    seed: options.seed,
  });
  return tokenizer.decode(tokenIds, { skipSpecialTokens: true }).trim();
}
