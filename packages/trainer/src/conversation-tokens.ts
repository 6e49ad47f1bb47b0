import { InvalidArgumentError, type Message, type Tokenizer } from '@cohort/core';

function isPrefix(prefix: readonly number[], sequence: readonly number[]): boolean {
  if (prefix.length > sequence.length) return false;
  for (let index = 0; index < prefix.length; index++) {
    if (prefix[index] !== sequence[index]) return false;
  }
  return true;
}

/**
 * Builds the token ids of a conversation incrementally, so that the ids a
 * policy sampled are kept exactly as sampled and only the template's own
 * tokens (system, user, turn markers) come from the chat template.
 *
 * It relies on the prefix property that the `Tokenizer` protocol requires, and
 * checks it at every turn: a template that breaks it is refused with an error
 * instead of silently producing misaligned tokens.
 */
export class ConversationTokens {
  readonly tokenIds: number[] = [];
  /** 1 where the policy sampled the token. */
  readonly lossMask: (0 | 1)[] = [];
  /** Sampler log-probability where `lossMask` is 1, else 0. */
  readonly behaviorLogProbs: number[] = [];
  private readonly messages: Message[] = [];
  private readonly tokenizer: Tokenizer;
  private awaitingAgent = false;

  constructor(tokenizer: Tokenizer, initialMessages: readonly Message[]) {
    this.tokenizer = tokenizer;
    if (initialMessages.length === 0 || initialMessages.at(-1)?.role === 'assistant') {
      throw new InvalidArgumentError({
        argument: 'initialMessages',
        value: initialMessages.map((message) => message.role),
        message: 'must be non-empty and end with a system or user message',
      });
    }
    this.messages.push(...initialMessages);
    this.pushTemplate(tokenizer.applyChatTemplate(this.messages, { addGenerationPrompt: true }));
    this.awaitingAgent = true;
  }

  /**
   * How many template ids follow the agent's next turn (for ChatML,
   * `<|im_end|>\n`): a turn of `maxNewTokens` needs this much more room in
   * the context, because the policy may stop by length without sampling the
   * end-of-turn id.
   */
  closingLength(): number {
    const withGenerationPrompt = this.tokenizer.applyChatTemplate(this.messages, {
      addGenerationPrompt: true,
    });
    const withEmptyAnswer = this.tokenizer.applyChatTemplate(
      [...this.messages, { role: 'assistant', content: '' }],
      { addGenerationPrompt: false },
    );
    return Math.max(0, withEmptyAnswer.length - withGenerationPrompt.length);
  }

  /**
   * An independent copy, for branching one conversation into several (an
   * OpenAI-style request with `n` choices continues each choice separately).
   */
  clone(): ConversationTokens {
    const copy: ConversationTokens = Object.create(ConversationTokens.prototype);
    Object.assign(copy, {
      tokenIds: [...this.tokenIds],
      lossMask: [...this.lossMask],
      behaviorLogProbs: [...this.behaviorLogProbs],
      messages: [...this.messages],
      tokenizer: this.tokenizer,
      awaitingAgent: this.awaitingAgent,
    });
    return copy;
  }

  /** The prompt for the next agent turn (everything so far, ending with the generation prompt). */
  prompt(): number[] {
    return [...this.tokenIds];
  }

  /**
   * Appends the agent's sampled ids as they are, then whatever the template
   * puts after an assistant message (for ChatML, `<|im_end|>\n`), skipping the
   * end-of-turn id when the policy already sampled it.
   * Returns the `[start, end)` range of the sampled ids.
   */
  appendAgentTurn(options: {
    sampledTokenIds: readonly number[];
    logProbsPerToken: readonly number[];
    text: string;
  }): [number, number] {
    if (!this.awaitingAgent) {
      throw new InvalidArgumentError({
        argument: 'turn',
        value: 'assistant',
        message: 'the conversation is not waiting for the agent',
      });
    }
    if (options.sampledTokenIds.length !== options.logProbsPerToken.length) {
      throw new InvalidArgumentError({
        argument: 'logProbsPerToken',
        value: options.logProbsPerToken.length,
        message: `must have one entry per sampled token (${options.sampledTokenIds.length})`,
      });
    }
    const start = this.tokenIds.length;
    for (let index = 0; index < options.sampledTokenIds.length; index++) {
      this.tokenIds.push(options.sampledTokenIds[index]!);
      this.lossMask.push(1);
      this.behaviorLogProbs.push(options.logProbsPerToken[index]!);
    }
    const end = this.tokenIds.length;
    const withGenerationPrompt = this.tokenizer.applyChatTemplate(this.messages, {
      addGenerationPrompt: true,
    });
    const withEmptyAnswer = this.tokenizer.applyChatTemplate(
      [...this.messages, { role: 'assistant', content: '' }],
      { addGenerationPrompt: false },
    );
    if (!isPrefix(withGenerationPrompt, withEmptyAnswer)) {
      throw new InvalidArgumentError({
        argument: 'tokenizer.applyChatTemplate',
        value: 'chat template',
        message:
          'the generation prompt is not a prefix of an empty assistant message; incremental tokenization is impossible',
      });
    }
    let closing = withEmptyAnswer.slice(withGenerationPrompt.length);
    const endOfTurn = this.tokenizer.endOfTurnTokenId ?? this.tokenizer.eosTokenId;
    const last = options.sampledTokenIds.at(-1);
    if (
      last !== undefined &&
      (last === endOfTurn || last === this.tokenizer.eosTokenId) &&
      closing[0] === endOfTurn
    ) {
      closing = closing.slice(1);
    }
    this.messages.push({ role: 'assistant', content: options.text });
    this.pushTemplate(closing);
    this.awaitingAgent = false;
    return [start, end];
  }

  /** Appends a user message and the generation prompt for the next agent turn, from the template. */
  appendUserTurn(content: string): [number, number] {
    return this.appendObservation([{ role: 'user', content }]);
  }

  /**
   * Appends what the agent observes before its next turn (a user message, or
   * the `tool` messages with the results of its tool calls) and the
   * generation prompt, from the template. The messages are rendered together,
   * because templates such as Qwen's join consecutive tool results in one
   * turn: only the whole batch keeps the prefix property.
   */
  appendObservation(messages: readonly Message[]): [number, number] {
    if (this.awaitingAgent) {
      throw new InvalidArgumentError({
        argument: 'turn',
        value: messages.map((message) => message.role).join(','),
        message: 'the agent has not answered yet',
      });
    }
    const roles = messages.map((message) => message.role);
    if (
      messages.length === 0 ||
      !(roles.every((role) => role === 'tool') || (roles.length === 1 && roles[0] === 'user'))
    ) {
      throw new InvalidArgumentError({
        argument: 'messages',
        value: roles,
        message: 'must be one user message or one or more tool messages',
      });
    }
    const before = this.tokenizer.applyChatTemplate(this.messages, { addGenerationPrompt: false });
    this.messages.push(...messages);
    const after = this.tokenizer.applyChatTemplate(this.messages, { addGenerationPrompt: true });
    if (!isPrefix(before, after)) {
      throw new InvalidArgumentError({
        argument: 'tokenizer.applyChatTemplate',
        value: 'chat template',
        message: 'rendering a conversation is not a prefix of rendering it with one more message',
      });
    }
    const start = this.tokenIds.length;
    this.pushTemplate(after.slice(before.length));
    this.awaitingAgent = true;
    return [start, this.tokenIds.length];
  }

  /**
   * Drops every token from `length` on (for example a user turn that would
   * overflow the context). The conversation then waits for nothing more.
   */
  truncate(length: number): void {
    this.tokenIds.length = Math.min(this.tokenIds.length, length);
    this.lossMask.length = this.tokenIds.length;
    this.behaviorLogProbs.length = this.tokenIds.length;
  }

  private pushTemplate(ids: readonly number[]): void {
    for (const id of ids) {
      this.tokenIds.push(id);
      this.lossMask.push(0);
      this.behaviorLogProbs.push(0);
    }
  }
}
