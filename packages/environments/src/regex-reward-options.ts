import { z } from 'zod';
import { RewardTargetSchema } from './reward-text';

/** Options of {@link regexReward}. */
export const RegexRewardOptionsSchema = z
  .object({
    name: z.string().min(1).default('regex'),
    scope: z.enum(['turn', 'episode']).default('episode'),
    /** A regular expression, or its source (compiled with `flags`). */
    pattern: z.union([z.string().min(1), z.instanceof(RegExp)]),
    flags: z
      .string()
      .regex(/^[imsu]*$/, 'may only hold i, m, s, u')
      .optional(),
    /** Score when the text matches. */
    reward: z.number().finite().default(1),
    /** Score when it does not. */
    penalty: z.number().finite().default(0),
    target: RewardTargetSchema,
  })
  .strict();

export type RegexRewardOptionsInput = z.input<typeof RegexRewardOptionsSchema>;
