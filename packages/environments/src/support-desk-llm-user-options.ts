import { z } from 'zod';
import { chatCacheSchema, chatModelSchema } from './chat-model-schemas';

/** Where the LLM customer's answers are kept between calls: a `Map`, or any store with the same two methods. */
export interface SupportDeskLlmUserCache {
  get(key: string): string | undefined;
  set(key: string, text: string): unknown;
}

/**
 * The default end-of-conversation marker, tau-bench's (Yao et al. 2024,
 * `###STOP###`): a marker no agent or customer says by chance.
 */
export const defaultSupportDeskStopMarker = '###STOP###';

/**
 * Options of {@link createSupportDeskLlmUser}.
 *
 * - `model`: the customer, a `ChatModel` (a transformers.js model or an OpenAI-compatible endpoint).
 * - `temperature`, `maxTokens`: passed to the model (defaults 0.7, 64).
 * - `timeoutMs`: a call that runs longer is abandoned and the scripted customer answers (default 30000).
 * - `maxCharacters`: a longer answer is refused and the scripted customer answers (default 400).
 * - `historyMessages`: the most recent messages of the conversation the model sees (default 8),
 *   so the prompt stays inside a small model's context.
 * - `stopMarker`: what the customer writes to end the conversation (default `###STOP###`).
 * - `cache`: answers kept by a key of the model, prompt, temperature, token limit and seed
 *   (default: none). Safe only where the model's answer is a function of that key: a local
 *   model (seeded), or an endpoint at temperature 0.
 */
export const SupportDeskLlmUserOptionsSchema = z
  .object({
    model: chatModelSchema,
    temperature: z
      .number()
      .nonnegative()
      .max(2)
      .default(0.7)
      .describe('Sampling temperature of the customer model.'),
    maxTokens: z
      .number()
      .int()
      .positive()
      .max(4096)
      .default(64)
      .describe('Longest customer answer, in tokens.'),
    timeoutMs: z
      .number()
      .positive()
      .max(3_600_000)
      .default(30_000)
      .describe('A call that runs longer is abandoned; the scripted customer answers instead.'),
    maxCharacters: z
      .number()
      .int()
      .positive()
      .default(400)
      .describe('A longer answer is refused; the scripted customer answers instead.'),
    historyMessages: z
      .number()
      .int()
      .positive()
      .default(8)
      .describe('The most recent messages the customer model sees, to fit small contexts.'),
    stopMarker: z
      .string()
      .min(1)
      .default(defaultSupportDeskStopMarker)
      .describe('What the customer writes to end the conversation.'),
    cache: chatCacheSchema<SupportDeskLlmUserCache>('text').default(null),
  })
  .strict();

export type SupportDeskLlmUserOptions = z.output<typeof SupportDeskLlmUserOptionsSchema>;
export type SupportDeskLlmUserOptionsInput = z.input<typeof SupportDeskLlmUserOptionsSchema>;
