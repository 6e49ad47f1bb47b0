import { z } from 'zod';

/** Options of {@link createSequentialShardLearner}. */
export const SequentialShardLearnerOptionsSchema = z
  .object({
    /**
     * URL (`file:` or a resolvable specifier) of a module whose default export
     * is a {@link ShardLoss}: the same module a {@link DataParallelLearner}'s
     * workers import.
     */
    lossModule: z.string().min(1),
    /** Contiguous shards each minibatch is split into; their gradients are computed one after another. */
    shardCount: z.number().int().positive(),
  })
  .strict();

export type SequentialShardLearnerOptions = z.output<typeof SequentialShardLearnerOptionsSchema>;
export type SequentialShardLearnerOptionsInput = z.input<
  typeof SequentialShardLearnerOptionsSchema
>;
