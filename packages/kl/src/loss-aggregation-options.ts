import { z } from 'zod';

/**
 * How per-token losses become one scalar (`m` the loss mask, `B` rows, `L` the
 * padded length, `G` the group size, `M` the micro-batch size):
 * - `'token-mean'`: sum over all masked tokens / their count (DAPO, PPO in
 *   verl, TRL `bnpo`);
 * - `'sequence-mean'`: mean over sequences of each sequence's masked mean
 *   (original GRPO; verl `seq-mean-token-mean`, SkyRL `sequence_mean`);
 * - `'constant'`: sum over all masked tokens / (B * constantLength) (Dr. GRPO;
 *   TRL `dr_grpo`, SkyRL `seq_mean_token_sum_norm`);
 * - `'seq-mean-token-sum'`: mean over sequences of each sequence's masked sum
 *   (verl `seq-mean-token-sum`);
 * - `'seq-mean-token-sum-norm'`: sum over all masked tokens / constantLength,
 *   not divided by B (verl `seq-mean-token-sum-norm`);
 * - `'prompt-mean'`: token mean within each group of G rows sampled for one
 *   prompt, then the mean over groups (SkyRL `prompt_mean`);
 * - `'micro-batch-token-mean'`: token mean within each run of M rows, then the
 *   mean over runs (SkyRL `token_mean_legacy`).
 */
export const LossAggregationSchema = z.enum([
  'token-mean',
  'sequence-mean',
  'constant',
  'seq-mean-token-sum',
  'seq-mean-token-sum-norm',
  'prompt-mean',
  'micro-batch-token-mean',
]);

/** Name of a loss-aggregation mode. */
export type LossAggregation = z.infer<typeof LossAggregationSchema>;

/**
 * Whether a unit with no masked token (a row for `'sequence-mean'` and
 * `'seq-mean-token-sum'`, a group for `'prompt-mean'`, a micro-batch for
 * `'micro-batch-token-mean'`) counts in the denominator: `'count'` (TRL,
 * SkyRL) or `'exclude'` (verl's `agg_loss`, OpenRLHF).
 */
export const EmptyRowsSchema = z.enum(['count', 'exclude']);

/** `'count' | 'exclude'`; see {@link EmptyRowsSchema}. */
export type EmptyRows = z.infer<typeof EmptyRowsSchema>;
