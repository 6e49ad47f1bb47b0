import { z } from 'zod';

/** How GAE crosses a masked position (an observation token, a user turn) inside a sequence. */
export const MaskedPositionsSchema = z
  .enum(['skip', 'zero', 'step'])
  .describe(
    "'skip': GAE runs over unmasked steps only (verl); 'zero': masked steps have reward 0 and value 0 (OpenRLHF); 'step': masked steps are ordinary steps.",
  );

/** How GAE crosses a masked position; see {@link MaskedPositionsSchema}. */
export type MaskedPositions = z.output<typeof MaskedPositionsSchema>;

/**
 * The GAE settings a trainer config embeds. Defaults: `gamma: 1`, `lambda: 0.95`
 * (the LLM-RL defaults of verl and OpenRLHF; Schulman et al. 2017 used
 * `gamma: 0.99` for control), `maskedPositions: 'skip'`.
 *
 * @example
 * ```ts
 * GaeConfigSchema.parse({ lambda: 1 }); // { gamma: 1, lambda: 1, maskedPositions: 'skip' }
 * ```
 */
export const GaeConfigSchema = z
  .object({
    gamma: z.number().min(0).max(1).default(1).describe('Discount factor per step.'),
    lambda: z.number().min(0).max(1).default(0.95).describe('GAE bias-variance trade-off.'),
    maskedPositions: MaskedPositionsSchema.default('skip'),
  })
  .strict();

/** Parsed GAE settings, defaults filled in. */
export type GaeConfig = z.output<typeof GaeConfigSchema>;
