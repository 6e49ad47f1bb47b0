import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { Gpt2ConfigSchema } from '../gpt2-config';
import { LlamaConfigSchema } from '../llama/llama-config';
import { LoraOptionsSchema } from '../llama/lora-options';

/** Options of {@link createDataParallelLearner}. */
export const DataParallelLearnerOptionsSchema = z
  .object({
    /** Shape of the GPT model that every worker replicates (the leader's model's `config`); or give `llama`. */
    config: Gpt2ConfigSchema.optional(),
    /**
     * A Llama-family model to replicate instead of a GPT: its `config` and,
     * with LoRA, its `lora` options (then only the adapters train, and only
     * their weights and gradients cross threads after the frozen base is sent once).
     */
    llama: z
      .object({ config: LlamaConfigSchema, lora: LoraOptionsSchema.optional() })
      .strict()
      .optional(),
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
  .strict()
  .refine((options) => (options.config === undefined) !== (options.llama === undefined), {
    message: 'give exactly one of config (a GPT-2 model) and llama (a Llama-family model)',
    path: ['config'],
  });

export type DataParallelLearnerOptions = z.output<typeof DataParallelLearnerOptionsSchema>;
export type DataParallelLearnerOptionsInput = z.input<typeof DataParallelLearnerOptionsSchema>;
