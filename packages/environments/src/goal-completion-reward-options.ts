import { z } from 'zod';

/** Options of {@link goalCompletionReward}. */
export const GoalCompletionRewardOptionsSchema = z
  .object({
    name: z.string().min(1).default('goal-completion'),
    scope: z.enum(['turn', 'episode']).default('episode'),
  })
  .strict();

export type GoalCompletionRewardOptionsInput = z.input<typeof GoalCompletionRewardOptionsSchema>;
