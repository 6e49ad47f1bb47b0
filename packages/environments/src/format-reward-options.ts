import { z } from 'zod';

/**
 * Options of {@link formatReward}. Each check can be turned off; `maxCharacters`
 * adds a length check when set.
 */
export const FormatRewardOptionsSchema = z
  .object({
    name: z.string().min(1).default('format'),
    scope: z.enum(['turn', 'episode']).default('episode'),
    /** The completion has visible text. */
    nonEmpty: z.boolean().default(true),
    /** No chat-template or role markers leaked into the text. */
    noRoleMarkers: z.boolean().default(true),
    roleMarkers: z
      .array(z.string().min(1))
      .default(['<|', '|>', '</s>', '<s>', 'User:', 'Assistant:', 'System:']),
    /** The text ends with `.`, `!`, `?`, or a closing quote or bracket after one. */
    terminalPunctuation: z.boolean().default(true),
    /** Sampling did not stop at the token limit (`finishReason !== 'length'`). */
    notTruncated: z.boolean().default(true),
    /** No sentence is said twice (case- and space-insensitive). */
    noRepeatedSentences: z.boolean().default(true),
    maxCharacters: z.number().int().positive().optional(),
    /** `fraction`: penalty + (reward - penalty) * passed / checks; `all`: reward only if every check passes. */
    mode: z.enum(['fraction', 'all']).default('fraction'),
    reward: z.number().finite().default(1),
    penalty: z.number().finite().default(0),
  })
  .strict();

export type FormatRewardOptions = z.output<typeof FormatRewardOptionsSchema>;
export type FormatRewardOptionsInput = z.input<typeof FormatRewardOptionsSchema>;
