import { z } from 'zod';

/**
 * Who wrote a message in a conversation. `tool` is the result of a tool that
 * the assistant called, rendered by the chat template (for example as
 * `<tool_response>` in Qwen's, as `ipython` in Llama 3.x's).
 */
export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** One message of a conversation, as text. */
export interface Message {
  role: Role;
  content: string;
}

/** Zod schema of {@link Message}. */
export const MessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
});
