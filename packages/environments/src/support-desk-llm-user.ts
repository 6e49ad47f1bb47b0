import { type Message, parseWithSchema } from '@cohort/core';
import { callChatModel } from './chat-model-call';
import { supportDeskOrderIdPattern } from './support-desk-check';
import {
  type SupportDeskLlmUserCache,
  type SupportDeskLlmUserOptions,
  type SupportDeskLlmUserOptionsInput,
  SupportDeskLlmUserOptionsSchema,
} from './support-desk-llm-user-options';
import { productLine, type SupportDeskTask } from './support-desk-tasks';
import {
  type SupportDeskUserReply,
  supportDeskAskedFacts,
  supportDeskUserReply,
} from './support-desk-user';

/** What a support desk customer is given to answer one agent message (one without tool calls). */
export interface SupportDeskUserInput {
  task: SupportDeskTask;
  /** The agent message to answer; also the last message of `messages`. */
  agentMessage: string;
  /** The whole conversation so far, system prompt and tool messages included. */
  messages: readonly Message[];
  /** Earlier answers that did not end the conversation. */
  askedBefore: number;
  /** Answers the customer gives before it gives up. */
  patience: number;
  /** Sampling seed of this answer. */
  seed: number;
}

/** A customer of the support desk other than the scripted one (see `SupportDeskEnvironmentOptions.user`). */
export interface SupportDeskUser {
  readonly name: string;
  reply(input: SupportDeskUserInput): Promise<SupportDeskUserReply>;
}

/** Why a model's answer was replaced by the scripted customer's. */
export const supportDeskUserFallbackReasons = [
  'empty',
  'too-long',
  'leak',
  'timeout',
  'request',
] as const;

export type SupportDeskUserFallbackReason = (typeof supportDeskUserFallbackReasons)[number];

/** What {@link checkSupportDeskUserTurn} made of a model's answer. */
export type SupportDeskUserTurnCheck =
  | { kind: 'reply'; message: string }
  | { kind: 'stop'; message: string }
  | { kind: 'fallback'; reason: 'empty' | 'too-long' | 'leak'; detail: string };

/** What one answer of an {@link SupportDeskLlmUser} did: the per-call report a run logs. */
export interface SupportDeskUserCallReport {
  taskId: string;
  /** True when the answer came from the cache and the model was not called. */
  cached: boolean;
  durationMs: number;
  promptCharacters: number;
  responseCharacters: number;
  /** `reply`: the model's answer went to the agent; `stop`: the customer ended; `fallback`: the scripted customer answered. */
  outcome: 'reply' | 'stop' | 'fallback';
  fallback?: SupportDeskUserFallbackReason;
  /** What was wrong: the leaked fact, the length, the error message. */
  detail?: string;
}

/** Totals of an {@link SupportDeskLlmUser}'s answers: what a run's summary shows. */
export interface SupportDeskUserCounts {
  /** Answers asked of the model, cached ones included. */
  calls: number;
  cached: number;
  /** Answers of the model that went to the agent, and those that ended the conversation. */
  replies: number;
  stops: number;
  /** Answers replaced by the scripted customer's, in all and by reason (`timeout` counts the timeouts). */
  fallbacks: number;
  fallbacksByReason: Record<SupportDeskUserFallbackReason, number>;
  /** Conversations the customer left after `patience` answers, without a call. */
  gaveUp: number;
  /** Time spent in model calls, in milliseconds. */
  durationMs: number;
}

function visibleConversation(messages: readonly Message[]): Message[] {
  // The customer sees neither the system prompt nor tool calls and their results.
  return messages.filter(
    (message, index) =>
      message.role === 'user' ||
      (message.role === 'assistant' && messages[index + 1]?.role !== 'tool'),
  );
}

function productName(task: SupportDeskTask, productId: string | undefined): string | undefined {
  return task.database.products.find((product) => product.id === productId)?.name;
}

/** What the customer wants, in the customer's words (the reason is in its opening message). */
function customerGoal(task: SupportDeskTask): string {
  const order = task.database.orders.find((candidate) => candidate.id === task.user.orderId);
  const name = productName(task, order?.productId) ?? 'item';
  const line = productLine(name);
  switch (task.kind) {
    case 'refund':
    case 'late-refund':
      return `a refund for the ${line} you bought`;
    case 'cancel':
    case 'shipped-cancel':
      return `to cancel your order of the ${line}`;
    case 'exchange': {
      const wanted = productName(task, task.expectedActions[0]?.productId);
      return `to exchange your ${name}${wanted ? ` for the ${wanted}` : ''}`;
    }
  }
}

/**
 * The LLM customer's prompt: a system message that casts the model as the
 * customer (what it wants, the facts it holds, tau-bench's rules: tell only
 * what is asked, never invent, end with the stop marker), then the last
 * `historyMessages` messages the customer saw, roles swapped so the model
 * writes the customer's turn as its own (the agent's messages are its `user`
 * turns). It holds only what the customer knows: the name, the email, the
 * order id when the customer knows it, the product. The expected actions,
 * the amounts and days of the policy, and the other orders of the database
 * are never in it.
 *
 * @example
 * ```ts
 * const messages = supportDeskUserPrompt({ task, messages: episode.messages, stopMarker: '###STOP###', historyMessages: 8 });
 * ```
 */
export function supportDeskUserPrompt(options: {
  task: SupportDeskTask;
  messages: readonly Message[];
  stopMarker: string;
  historyMessages: number;
}): Message[] {
  const { task, stopMarker } = options;
  const system = [
    `You are a customer of ${task.database.policy.storeName}, writing to its support agent in a chat. You play the customer; the other side is the agent.`,
    `You want ${customerGoal(task)}.`,
    'What you know, to tell the agent only when it asks for it:',
    `- your name: ${task.user.name}`,
    `- your email: ${task.user.email}`,
    task.user.knowsOrderId
      ? `- your order number: ${task.user.orderId}`
      : '- you do not have your order number: if the agent asks for it, say you do not have it.',
    'Rules:',
    '- Write only your next message to the agent, in one or two short sentences.',
    '- Tell only what the agent asked for; never make up an order number, an amount or a date.',
    `- When the agent has done what you want, or has told you why it cannot, write ${stopMarker} alone.`,
  ].join('\n');
  const turns = visibleConversation(options.messages)
    .slice(-options.historyMessages)
    .map(
      (message): Message => ({
        role: message.role === 'assistant' ? 'user' : 'assistant',
        content: message.content,
      }),
    );
  return [{ role: 'system', content: system }, ...turns];
}

function includesWord(text: string, word: string): boolean {
  return new RegExp(`\\b${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i').test(text);
}

/**
 * Checks a model's answer as the customer, by one rule:
 * - it holds the stop marker: the customer ends (`stop`, the marker removed);
 * - it is empty, or longer than `maxCharacters`: `fallback`;
 * - it tells a fact the agent did not ask for in its last message and that
 *   the conversation does not already hold (the email, the name, an order
 *   id), an order id the customer does not know, or an order id that is not
 *   the customer's: `fallback` with reason `leak`;
 * - else `reply`.
 * What a fact is and when it is asked for is the scripted customer's rule
 * ({@link supportDeskAskedFacts}).
 *
 * @example
 * ```ts
 * checkSupportDeskUserTurn({ task, text: 'It is A1234.', messages, maxCharacters: 400, stopMarker: '###STOP###' });
 * // { kind: 'fallback', reason: 'leak', detail: 'order id A1234 ...' } when the agent had not asked for it
 * ```
 */
export function checkSupportDeskUserTurn(options: {
  task: SupportDeskTask;
  text: string;
  messages: readonly Message[];
  maxCharacters: number;
  stopMarker: string;
}): SupportDeskUserTurnCheck {
  const { task, maxCharacters } = options;
  const text = options.text.trim();
  if (text.includes(options.stopMarker)) {
    return { kind: 'stop', message: text.split(options.stopMarker).join(' ').trim() };
  }
  if (text.length === 0) return { kind: 'fallback', reason: 'empty', detail: 'an empty answer' };
  if (text.length > maxCharacters) {
    return {
      kind: 'fallback',
      reason: 'too-long',
      detail: `${text.length} characters, more than maxCharacters ${maxCharacters}`,
    };
  }
  const visible = visibleConversation(options.messages);
  const lastAgent = visible.filter((message) => message.role === 'assistant').at(-1);
  const asked = supportDeskAskedFacts(lastAgent?.content ?? '');
  const seen = visible.map((message) => message.content).join('\n');
  const leak = (detail: string): SupportDeskUserTurnCheck => ({
    kind: 'fallback',
    reason: 'leak',
    detail,
  });
  const { user } = task;
  if (includesWord(text, user.email) && !asked.email && !includesWord(seen, user.email))
    return leak(`the email ${user.email}, not asked for`);
  const lastName = user.name.split(/\s+/).at(-1) ?? user.name;
  if (includesWord(text, lastName) && !asked.name && !includesWord(seen, lastName))
    return leak(`the name ${user.name}, not asked for`);
  for (const id of text.match(supportDeskOrderIdPattern) ?? []) {
    if (includesWord(seen, id)) continue;
    if (id !== user.orderId) return leak(`order id ${id}, not the customer's`);
    if (!user.knowsOrderId) return leak(`order id ${id}, which the customer does not know`);
    if (!asked.orderId) return leak(`order id ${id}, not asked for`);
  }
  return { kind: 'reply', message: text };
}

const emptyFallbacks = (): Record<SupportDeskUserFallbackReason, number> => ({
  empty: 0,
  'too-long': 0,
  leak: 0,
  timeout: 0,
  request: 0,
});

/**
 * The support desk customer played by a language model (a transformers.js
 * model or any OpenAI-compatible endpoint), as tau-bench's user simulator:
 * the model gets {@link supportDeskUserPrompt} and writes the customer's
 * next message, or the stop marker when it is satisfied.
 *
 * Every answer is checked ({@link checkSupportDeskUserTurn}); an empty, too
 * long or leaking answer, a call past `timeoutMs` and a failed call are
 * replaced by the scripted customer's answer to the same agent message
 * ({@link supportDeskUserReply}), never passed on silently: each call is in
 * `calls` and the totals in {@link SupportDeskLlmUser.counts}. After
 * `patience` answers the customer gives up without a call, as the scripted
 * one does. Answers are cached by model, prompt, temperature, token limit
 * and seed when a `cache` is given.
 *
 * @example
 * ```ts
 * const user = createSupportDeskLlmUser({ model: createOpenAiCompatibleChatModel({ baseUrl, model: 'qwen2.5-7b-instruct' }) });
 * const environment = createSupportDeskEnvironment({ user });
 * ```
 */
export class SupportDeskLlmUser implements SupportDeskUser {
  readonly name: string;
  readonly options: SupportDeskLlmUserOptions;
  /** Every call so far, in order. */
  readonly calls: SupportDeskUserCallReport[] = [];
  private readonly totals: SupportDeskUserCounts = {
    calls: 0,
    cached: 0,
    replies: 0,
    stops: 0,
    fallbacks: 0,
    fallbacksByReason: emptyFallbacks(),
    gaveUp: 0,
    durationMs: 0,
  };
  private readonly cache: SupportDeskLlmUserCache | null;

  constructor(options: SupportDeskLlmUserOptionsInput) {
    this.options = parseWithSchema(
      SupportDeskLlmUserOptionsSchema,
      options,
      'support desk LLM user options',
    );
    this.name = `llm-user:${this.options.model.name}`;
    this.cache = this.options.cache;
  }

  /** The totals so far (a copy). */
  counts(): SupportDeskUserCounts {
    return { ...this.totals, fallbacksByReason: { ...this.totals.fallbacksByReason } };
  }

  async reply(input: SupportDeskUserInput): Promise<SupportDeskUserReply> {
    const { task } = input;
    const options = this.options;
    if (input.askedBefore >= input.patience) {
      this.totals.gaveUp += 1;
      return { message: 'This is taking too long, goodbye.', done: true };
    }
    const messages = supportDeskUserPrompt({
      task,
      messages: input.messages,
      stopMarker: options.stopMarker,
      historyMessages: options.historyMessages,
    });
    const promptCharacters = messages.reduce((sum, message) => sum + message.content.length, 0);
    const key = JSON.stringify([
      options.model.name,
      messages,
      options.temperature,
      options.maxTokens,
      input.seed,
    ]);
    const cachedText = this.cache?.get(key);
    const call =
      cachedText !== undefined
        ? { text: cachedText, durationMs: 0 }
        : await callChatModel({
            model: options.model,
            messages,
            timeoutMs: options.timeoutMs,
            maxTokens: options.maxTokens,
            temperature: options.temperature,
            seed: input.seed,
          });
    const base = {
      taskId: task.id,
      cached: cachedText !== undefined,
      durationMs: call.durationMs,
      promptCharacters,
      responseCharacters: call.text.length,
    };
    this.totals.calls += 1;
    if (base.cached) this.totals.cached += 1;
    this.totals.durationMs += call.durationMs;
    const error = 'error' in call ? call.error : undefined;
    const check: SupportDeskUserTurnCheck | undefined =
      error === undefined
        ? checkSupportDeskUserTurn({
            task,
            text: call.text,
            messages: input.messages,
            maxCharacters: options.maxCharacters,
            stopMarker: options.stopMarker,
          })
        : undefined;
    if (error === undefined && cachedText === undefined) this.cache?.set(key, call.text);
    if (check?.kind === 'reply' || check?.kind === 'stop') {
      this.calls.push({ ...base, outcome: check.kind });
      if (check.kind === 'reply') {
        this.totals.replies += 1;
        return { message: check.message, done: false };
      }
      this.totals.stops += 1;
      return { message: check.message || 'Thank you.', done: true };
    }
    const reason: SupportDeskUserFallbackReason = check?.reason ?? error?.kind ?? 'request';
    this.calls.push({
      ...base,
      outcome: 'fallback',
      fallback: reason,
      detail: check?.detail ?? error?.message ?? '',
    });
    this.totals.fallbacks += 1;
    this.totals.fallbacksByReason[reason] += 1;
    return supportDeskUserReply(task, input.agentMessage, input.askedBefore, input.patience);
  }
}

/** Creates a {@link SupportDeskLlmUser}. */
export function createSupportDeskLlmUser(
  options: SupportDeskLlmUserOptionsInput,
): SupportDeskLlmUser {
  return new SupportDeskLlmUser(options);
}
