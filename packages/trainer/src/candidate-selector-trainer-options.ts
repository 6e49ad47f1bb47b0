import { z } from 'zod';

/** The numeric settings of {@link CandidateSelectorTrainer}, with defaults. */
export const CandidateSelectorOptionsSchema = z
  .object({
    /** K: candidates the generator proposes per query. */
    candidateCount: z.number().int().min(2).default(4),
    /**
     * M: rewarded decisions per update. `step` updates at the first query
     * boundary at or after M, so the answers to one query stay in one batch.
     */
    updateEvery: z.number().int().positive().default(32),
    /** Decisions sampled per query by `step` (the group of group advantages; 1 for a person). */
    samplesPerQuery: z.number().int().positive().default(4),
    /**
     * A decision made this many updates (or more) before its reward arrived is
     * skipped and reported, never mixed in silently (the ratio to its behavior
     * probability corrects for smaller lags).
     */
    maxStaleness: z.number().int().positive().default(2),
    seed: z.number().int().default(0),
  })
  .strict();

export type CandidateSelectorOptions = z.output<typeof CandidateSelectorOptionsSchema>;
export type CandidateSelectorOptionsInput = z.input<typeof CandidateSelectorOptionsSchema>;
