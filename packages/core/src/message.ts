import { z } from 'zod';

/** Who wrote a message in a conversation. */
export type Role = 'system' | 'user' | 'assistant';

/** One message of a conversation, as text. */
export interface Message {
  role: Role;
  content: string;
}

/** Zod schema of {@link Message}. */
export const MessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
