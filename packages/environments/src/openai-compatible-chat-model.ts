import { type ChatCompletionRequest, type ChatModel, parseWithSchema } from '@cohort/core';
import { z } from 'zod';

/** Options of {@link createOpenAiCompatibleChatModel}. */
export const OpenAiCompatibleChatModelOptionsSchema = z
  .object({
    baseUrl: z
      .url()
      .describe(
        'The API root, for example http://127.0.0.1:8000/v1 (…/chat/completions is appended).',
      ),
    model: z.string().min(1).describe('The model name sent in each request.'),
    apiKey: z.string().min(1).optional().describe('Sent as a Bearer token when given.'),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .describe('Extra headers of every request.'),
  })
  .strict();

export type OpenAiCompatibleChatModelOptions = z.output<
  typeof OpenAiCompatibleChatModelOptionsSchema
>;

/**
 * A {@link ChatModel} served by any OpenAI-compatible endpoint (OpenAI, vLLM,
 * llama.cpp's server, Ollama, the project's own gateway): one POST to
 * `{baseUrl}/chat/completions` with `model`, `messages`, `temperature`,
 * `max_tokens` and `seed`, answered by `choices[0].message.content`. An HTTP
 * error or an answer of another shape rejects with what came back.
 *
 * @example
 * ```ts
 * const judge = createOpenAiCompatibleChatModel({ baseUrl: 'http://127.0.0.1:8000/v1', model: 'qwen2.5-7b-instruct' });
 * ```
 */
export function createOpenAiCompatibleChatModel(
  options: OpenAiCompatibleChatModelOptions,
): ChatModel {
  const parsed = parseWithSchema(
    OpenAiCompatibleChatModelOptionsSchema,
    options,
    'OpenAI-compatible chat model options',
  );
  const url = `${parsed.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  return {
    name: `openai-compatible:${parsed.model}`,
    async complete(request: ChatCompletionRequest): Promise<string> {
      const response = await fetch(url, {
        method: 'POST',
        signal: request.signal,
        headers: {
          'content-type': 'application/json',
          ...(parsed.apiKey === undefined ? {} : { authorization: `Bearer ${parsed.apiKey}` }),
          ...parsed.headers,
        },
        body: JSON.stringify({
          model: parsed.model,
          messages: request.messages.map(({ role, content }) => ({ role, content })),
          temperature: request.temperature,
          max_tokens: request.maxTokens,
          seed: request.seed,
        }),
      });
      const text = await response.text();
      if (!response.ok)
        throw new Error(`${url} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
      const content = (JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] })
        .choices?.[0]?.message?.content;
      if (typeof content !== 'string')
        throw new Error(
          `${url} answered without choices[0].message.content: ${text.slice(0, 200)}`,
        );
      return content;
    },
  };
}
