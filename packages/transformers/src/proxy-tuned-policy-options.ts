import { z } from 'zod';

/** Size of the trainable delta model of a proxy-tuned policy. */
export const DeltaModelSizeSchema = z
  .object({
    embeddingSize: z.number().int().positive().default(64),
    layerCount: z.number().int().positive().default(2),
    headCount: z.number().int().positive().default(2),
    /** Longest sequence; default the base model's positions, else 1024. */
    contextLength: z.number().int().positive().optional(),
    /** MLP width; default 4 x embeddingSize. */
    innerSize: z.number().int().positive().optional(),
  })
  .strict();

/** Options of {@link createProxyTunedPolicy} besides the base model and tokenizer. */
export const ProxyTunedPolicyOptionsSchema = z
  .object({
    delta: DeltaModelSizeSchema.default({ embeddingSize: 64, layerCount: 2, headCount: 2 }),
    /** Seed of the delta model's initialization. */
    seed: z.number().int().nonnegative().default(0),
    /** Rows per forward pass when sampling and scoring. */
    batchSize: z.number().int().positive().default(16),
    /** Bound of the base-logits cache in bytes (default 256 MiB). */
    cacheMaxBytes: z
      .number()
      .int()
      .nonnegative()
      .default(256 * 2 ** 20),
    /** Keep the base logits computed while sampling, so training needs no new base pass. */
    cacheRollouts: z.boolean().default(true),
  })
  .strict();

export type ProxyTunedPolicyOptionsInput = z.input<typeof ProxyTunedPolicyOptionsSchema>;
export type ProxyTunedPolicyOptions = z.output<typeof ProxyTunedPolicyOptionsSchema>;
