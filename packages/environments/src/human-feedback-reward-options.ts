import type { RewardContext } from '@cohort/core';
import { z } from 'zod';
import { functionSchema } from './reward-text';

/** Asks a person to score a turn; resolves to a number, or null to skip. */
export type AskForFeedback = (
  context: RewardContext<unknown>,
  options: { signal: AbortSignal },
) => Promise<number | null> | number | null;

/** Options of {@link humanFeedbackReward}. */
export const HumanFeedbackRewardOptionsSchema = z
  .object({
    name: z.string().min(1).default('human-feedback'),
    scope: z.enum(['turn', 'episode']).default('episode'),
    ask: functionSchema<AskForFeedback>('(context, { signal }) => number | null'),
    /** Give up waiting after this long: the score is null and the timeout is counted. */
    timeoutMs: z.number().int().positive().optional(),
    /** Allowed scores `[min, max]`; an answer outside throws. */
    range: z.tuple([z.number().finite(), z.number().finite()]).optional(),
    /** Called on each timeout, for logging. */
    onTimeout:
      functionSchema<(context: RewardContext<unknown>) => void>('(context) => void').optional(),
  })
  .strict()
  .refine((options) => !options.range || options.range[0] <= options.range[1], {
    message: 'must be [min, max] with min <= max',
    path: ['range'],
  });

export type HumanFeedbackRewardOptionsInput = z.input<typeof HumanFeedbackRewardOptionsSchema>;
