import { z } from 'zod';

/** How GAE crosses a masked position (an observation token, a user turn) inside a sequence. */
export const MaskedPositionsSchema = z
  .enum(['skip', 'zero', 'step'])
  .describe(
    "'skip': GAE carries value and advantage over masked steps (verl, NeMo-RL); 'zero': masked steps have reward 0 and value 0 (OpenRLHF); 'step': masked steps are ordinary steps, the mask is ignored (TRL, SkyRL).",
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
 * GaeOptionsSchema.parse({ lambda: 1 }); // { gamma: 1, lambda: 1, maskedPositions: 'skip' }
 * ```
 */
export const GaeOptionsSchema = z
  .object({
    gamma: z.number().min(0).max(1).default(1).describe('Discount factor per step.'),
    lambda: z.number().min(0).max(1).default(0.95).describe('GAE bias-variance trade-off.'),
    maskedPositions: MaskedPositionsSchema.default('skip'),
    whiten: z
      .union([
        z.boolean(),
        z
          .object({
            shiftMean: z.boolean().optional(),
            variance: z.enum(['sample', 'population']).optional(),
            epsilon: z.number().min(0).finite().optional(),
            epsilonPlacement: z.enum(['add', 'floor']).optional(),
          })
          .strict(),
      ])
      .optional()
      .describe(
        "Whiten the advantages over the batch's unmasked positions: true is verl/SkyRL/TRL's masked_whiten; { variance: 'population', epsilonPlacement: 'floor' } is OpenRLHF's. Default: none.",
      ),
  })
  .strict();

/** Parsed GAE settings, defaults filled in. */
export type GaeOptions = z.output<typeof GaeOptionsSchema>;
