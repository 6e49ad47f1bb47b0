import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { Gpt2ConfigSchema } from '../gpt2-config';

/** Options of {@link createDataParallelLearner}. */
export const DataParallelLearnerOptionsSchema = z
  .object({
    /** Shape of the GPT model that every worker replicates (the leader's model's `config`). */
    config: Gpt2ConfigSchema,
    /**
     * URL (`file:` or a resolvable specifier) of a module whose default export is a
     * {@link ShardLoss}; each worker imports it.
     */
    lossModule: z.string().min(1),
    /** Number of worker threads; default one per core, since each runs single-threaded WASM. */
    workerCount: z
      .number()
      .int()
      .positive()
      .default(() => availableParallelism()),
  })
  .strict();

export type DataParallelLearnerOptions = z.output<typeof DataParallelLearnerOptionsSchema>;
export type DataParallelLearnerOptionsInput = z.input<typeof DataParallelLearnerOptionsSchema>;
