import type { Featurizer, RewardContext } from '@cohort/core';
import { z } from 'zod';
import { functionSchema, RewardTargetSchema } from './reward-text';

const FeaturizerSchema = z.custom<Featurizer>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { featurize?: unknown }).featurize === 'function' &&
    Number.isInteger((value as { dimension?: unknown }).dimension) &&
    (value as { dimension: number }).dimension > 0,
  { message: 'must be a Featurizer (a positive integer dimension and a featurize(texts) method)' },
);

/**
 * Options of {@link embeddingSimilarityReward}. `references` is a fixed list
 * (embedded once and cached) or a function of the context (per scenario).
 */
export const EmbeddingSimilarityRewardOptionsSchema = z
  .object({
    name: z.string().min(1).default('embedding-similarity'),
    scope: z.enum(['turn', 'episode']).default('episode'),
    featurizer: FeaturizerSchema,
    references: z.union([
      z.array(z.string()).min(1),
      functionSchema<
        (context: RewardContext<unknown>) => readonly string[] | Promise<readonly string[]>
      >('(context) => reference texts'),
    ]),
    /** Similarity to the closest reference (`max`) or the mean over references. */
    aggregate: z.enum(['max', 'mean']).default('max'),
    target: RewardTargetSchema,
  })
  .strict();

export type EmbeddingSimilarityRewardOptionsInput = z.input<
  typeof EmbeddingSimilarityRewardOptionsSchema
>;
