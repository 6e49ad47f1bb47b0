import { z } from 'zod';

/**
 * Options of {@link lengthReward}: DAPO's overlong buffer (`maxTokens` = L_max,
 * `bufferTokens` = L_cache) and an optional target-length bonus.
 */
export const LengthRewardOptionsSchema = z
  .object({
    name: z.string().min(1).default('length'),
    scope: z.enum(['turn', 'episode']).default('episode'),
    maxTokens: z.number().int().positive(),
    bufferTokens: z.number().int().nonnegative().default(0),
    /** Bonus `weight * exp(-((L - tokens) / scale)^2 / 2)` for lengths near `tokens`. */
    target: z
      .object({
        tokens: z.number().int().nonnegative(),
        scale: z.number().positive().finite(),
        weight: z.number().finite().default(1),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((options) => options.bufferTokens <= options.maxTokens, {
    message: 'must be <= maxTokens',
    path: ['bufferTokens'],
  });

export type LengthRewardOptions = z.output<typeof LengthRewardOptionsSchema>;
export type LengthRewardOptionsInput = z.input<typeof LengthRewardOptionsSchema>;
