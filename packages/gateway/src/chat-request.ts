import { z } from 'zod';

const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() }).strict();
const ContentSchema = z
  .union([z.string(), z.array(TextPartSchema)])
  .nullable()
  .optional();

const ToolCallSchema = z
  .object({
    id: z.string(),
    type: z.literal('function'),
    function: z.object({ name: z.string(), arguments: z.string() }).strict(),
  })
  .strict();

/** One message of an OpenAI-style chat request (text content only). */
export const ChatMessageSchema = z.discriminatedUnion('role', [
  z
    .object({ role: z.literal('system'), content: ContentSchema, name: z.string().optional() })
    .strict(),
  z
    .object({ role: z.literal('developer'), content: ContentSchema, name: z.string().optional() })
    .strict(),
  z
    .object({ role: z.literal('user'), content: ContentSchema, name: z.string().optional() })
    .strict(),
  z
    .object({
      role: z.literal('assistant'),
      content: ContentSchema,
      name: z.string().optional(),
      tool_calls: z.array(ToolCallSchema).optional(),
      refusal: z.string().nullable().optional(),
    })
    .strict(),
  z.object({ role: z.literal('tool'), content: ContentSchema, tool_call_id: z.string() }).strict(),
]);

export type ChatMessage = z.output<typeof ChatMessageSchema>;

const ToolSchema = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters from A-Z a-z 0-9 _ -'),
        description: z.string().optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      })
      .strict(),
  })
  .strict();

/**
 * The body of `POST /v1/chat/completions` that the gateway accepts. Fields
 * that it cannot honour are refused by name rather than ignored (for example
 * a non-zero `frequency_penalty`, or `tool_choice: "required"`, which needs
 * constrained decoding).
 */
export const ChatCompletionRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(ChatMessageSchema).min(1),
    stream: z.boolean().nullable().optional(),
    stream_options: z
      .object({ include_usage: z.boolean().optional() })
      .strict()
      .nullable()
      .optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().gt(0).max(1).nullable().optional(),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    stop: z
      .union([z.string().min(1), z.array(z.string().min(1)).max(4)])
      .nullable()
      .optional(),
    n: z.number().int().min(1).max(16).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    user: z.string().max(256).optional(),
    tools: z.array(ToolSchema).max(128).optional(),
    tool_choice: z
      .union([
        z.enum(['none', 'auto']),
        z
          .literal('required')
          .refine(() => false, 'is not supported: forcing a call needs constrained decoding'),
        z
          .object({
            type: z.literal('function'),
            function: z.object({ name: z.string() }).strict(),
          })
          .strict()
          .refine(
            () => false,
            'naming a function is not supported: forcing a call needs constrained decoding',
          ),
      ])
      .optional(),
    parallel_tool_calls: z.boolean().optional(),
    logprobs: z.boolean().nullable().optional(),
    frequency_penalty: z.literal(0).nullable().optional(),
    presence_penalty: z.literal(0).nullable().optional(),
  })
  .strict();

export type ChatCompletionRequest = z.output<typeof ChatCompletionRequestSchema>;

/** The text of a message's content (text parts joined). */
export function contentText(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text).join('');
}
