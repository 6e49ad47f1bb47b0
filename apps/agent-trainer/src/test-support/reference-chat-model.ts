import type { Message, Tokenizer } from '@cohort/core';
import { supportDeskReferenceReply } from '@cohort/environments';
import type { ChatModel } from '../chat-model';

/** The conversation a ChatML prompt holds (what the agent sees), read back from its text. */
export function chatMlMessages(tokenizer: Tokenizer, prompt: readonly number[]): Message[] {
  const text = tokenizer.decode(prompt, { skipSpecialTokens: false });
  return [...text.matchAll(/<\|im_start\|>(\w+)\n([\s\S]*?)<\|im_end\|>/g)].map((match) => ({
    role: match[1] as Message['role'],
    content: match[2]!,
  }));
}

/**
 * The support desk's reference agent (the project's teacher of tool-use
 * dialogues, which solves every task) as token ids: it reads the
 * conversation from a ChatML prompt and answers with its reply spelled
 * character by character, ids no encoder would choose, so a chat or rollout
 * that decoded and re-encoded a reply would be caught; then the end of the
 * turn.
 */
export function referenceReplyIds(tokenizer: Tokenizer, prompt: readonly number[]): number[] {
  const text = supportDeskReferenceReply(chatMlMessages(tokenizer, prompt));
  const ids = [...text].flatMap((character) => tokenizer.encode(character));
  return [...ids, tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId];
}

/** A {@link ChatModel} that is the reference agent: a scripted agent that calls the support desk's tools. */
export function referenceChatModel(tokenizer: Tokenizer, contextLength: number): ChatModel {
  return {
    directory: '(the support desk reference agent)',
    engine: 'tfjs',
    tokenizer,
    contextLength,
    async sample(options) {
      return referenceReplyIds(tokenizer, options.prompt);
    },
    loadWeights() {
      throw new Error('the reference agent has no weights');
    },
    dispose() {},
  };
}
