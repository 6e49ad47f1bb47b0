import { z } from 'zod';

/** Options of {@link LlmUserSimulator} besides the sampler. */
export const LlmUserSimulatorOptionsSchema = z
  .object({
    name: z.string().min(1).default('llm-user'),
    /** Most tokens per user turn. */
    maxNewTokens: z.number().int().positive().default(48),
    temperature: z.number().nonnegative().default(0.8),
    topK: z.number().int().nonnegative().default(0),
    topP: z.number().gt(0).max(1).default(1),
    /** Phrases that end the episode (reason `give-up`) when the simulated user says one (case-insensitive). */
    stopPhrases: z.array(z.string().min(1)).default([]),
    /** `scripted`: the first user turn is the scenario's `user.opening`; `generated`: the model writes it. */
    opening: z.enum(['scripted', 'generated']).default('scripted'),
    /** End with success (saying `user.thanks`) once the agent meets every success criterion. */
    endOnSuccess: z.boolean().default(true),
  })
  .strict();

export type LlmUserSimulatorOptionsInput = z.input<typeof LlmUserSimulatorOptionsSchema>;
export type LlmUserSimulatorOptions = z.output<typeof LlmUserSimulatorOptionsSchema>;
