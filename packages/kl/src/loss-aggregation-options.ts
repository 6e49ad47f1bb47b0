import { z } from 'zod';

/**
 * How per-token losses become one scalar:
 * - `'token-mean'`: sum over all masked tokens / their count (DAPO, PPO in verl);
 * - `'sequence-mean'`: mean over sequences of each sequence's masked mean (original GRPO);
 * - `'constant'`: sum over all masked tokens / (batch size * constant length) (Dr. GRPO).
 */
export const LossAggregationSchema = z.enum(['token-mean', 'sequence-mean', 'constant']);

/** Name of a loss-aggregation mode. */
export type LossAggregation = z.infer<typeof LossAggregationSchema>;
