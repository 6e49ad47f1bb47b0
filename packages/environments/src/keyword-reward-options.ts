import { z } from 'zod';
import { RewardTargetSchema } from './reward-text';

/** Options of {@link keywordReward}; at least one of `required` and `forbidden` must be non-empty. */
export const KeywordRewardOptionsSchema = z
  .object({
    name: z.string().min(1).default('keywords'),
    scope: z.enum(['turn', 'episode']).default('episode'),
    required: z.array(z.string().min(1)).default([]),
    forbidden: z.array(z.string().min(1)).default([]),
    caseSensitive: z.boolean().default(false),
    /** Match whole words only (`\b` on both sides) instead of substrings. */
    wholeWord: z.boolean().default(false),
    /** Subtracted once per distinct forbidden keyword found. */
    forbiddenPenalty: z.number().finite().nonnegative().default(1),
    target: RewardTargetSchema,
  })
  .strict()
  .refine((options) => options.required.length + options.forbidden.length > 0, {
    message: 'needs at least one required or forbidden keyword',
    path: ['required'],
  });

export type KeywordRewardOptionsInput = z.input<typeof KeywordRewardOptionsSchema>;
