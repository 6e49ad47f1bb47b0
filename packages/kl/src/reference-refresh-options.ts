import { z } from 'zod';

/**
 * When and how the reference model follows the policy:
 * - `{ mode: 'none' }`: a frozen reference (the default in GRPO/PPO);
 * - `{ mode: 'hard', everySteps }`: copy the policy into the reference every
 *   `everySteps` optimizer steps (TR-DPO "hard" update, Gorbatovski et al. 2024);
 * - `{ mode: 'mix', alpha, everySteps }`: `ref <- alpha * policy + (1 - alpha) * ref`
 *   every `everySteps` steps (TR-DPO "soft" update).
 */
export const ReferenceRefreshScheduleSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('none') }),
  z.object({ mode: z.literal('hard'), everySteps: z.number().int().positive() }),
  z.object({
    mode: z.literal('mix'),
    alpha: z.number().finite().min(0).max(1),
    everySteps: z.number().int().positive(),
  }),
]);

/** See {@link ReferenceRefreshScheduleSchema}. */
export type ReferenceRefreshSchedule = z.infer<typeof ReferenceRefreshScheduleSchema>;
