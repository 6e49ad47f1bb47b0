import { z } from 'zod';

/** Options of {@link MlpCandidateActor} and {@link MlpRewardCritic}. */
export const CandidateMlpOptionsSchema = z
  .object({
    /** Length of each feature vector (the featurizer's `dimension`). */
    featureSize: z.number().int().positive(),
    /** Widths of the hidden layers; `[]` makes a linear scorer. */
    hiddenSizes: z.array(z.number().int().positive()).default([32]),
    activation: z.enum(['relu', 'tanh', 'gelu']).default('tanh'),
    /** Seed of the initial weights. */
    seed: z.number().int().default(0),
  })
  .strict();

export type CandidateMlpOptions = z.output<typeof CandidateMlpOptionsSchema>;
export type CandidateMlpOptionsInput = z.input<typeof CandidateMlpOptionsSchema>;
