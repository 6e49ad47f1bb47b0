import type { ChatModel, Message } from '@cohort/core';

/** How one {@link callChatModel} went: the answer, or why there is none. */
export interface ChatModelCallResult {
  /** The answer's text; empty when the call failed. */
  text: string;
  durationMs: number;
  /** Why the call gave no answer: it ran past the timeout, or the request failed (HTTP, the local model). */
  error?: { kind: 'timeout' | 'request'; message: string };
}

class ChatModelTimeout extends Error {}

/**
 * One call of a {@link ChatModel} with a timeout, never a throw: a call that
 * runs past `timeoutMs` is aborted (its `signal` fires) and reported as
 * `timeout`, one that rejects as `request`. What the judge ranker and the
 * LLM user simulator both do with their model.
 *
 * @example
 * ```ts
 * const { text, error } = await callChatModel({ model, messages, timeoutMs: 30_000, maxTokens: 64, temperature: 0, seed: 0 });
 * ```
 */
export async function callChatModel(options: {
  model: ChatModel;
  messages: readonly Message[];
  timeoutMs: number;
  maxTokens: number;
  temperature: number;
  seed: number;
}): Promise<ChatModelCallResult> {
  const start = performance.now();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const text = await Promise.race([
      options.model.complete({
        messages: options.messages,
        signal: controller.signal,
        maxTokens: options.maxTokens,
        temperature: options.temperature,
        seed: options.seed,
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Rejected before the abort, so a model that rejects on abort at once does not win the race.
          reject(new ChatModelTimeout(`no answer within ${options.timeoutMs} ms`));
          controller.abort();
        }, options.timeoutMs);
      }),
    ]);
    return { text, durationMs: performance.now() - start };
  } catch (callError) {
    const message = callError instanceof Error ? callError.message : String(callError);
    return {
      text: '',
      durationMs: performance.now() - start,
      error: { kind: callError instanceof ChatModelTimeout ? 'timeout' : 'request', message },
    };
  } finally {
    clearTimeout(timer);
  }
}
