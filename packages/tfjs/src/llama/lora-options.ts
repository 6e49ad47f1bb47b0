import { parseWithSchema } from '@cohort/core';
import { z } from 'zod';

/** The projections of a Llama-family layer that LoRA can adapt, by their Hugging Face module names. */
export const loraTargetModules = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;
export type LoraTargetModule = (typeof loraTargetModules)[number];

/**
 * Low-rank adaptation (LoRA, Hu et al. 2021, eq. 3): each targeted projection
 * `y = x W` becomes `y = x W + (alpha / rank) x A B` with `A [in, rank]`,
 * `B [rank, out]`, `W` frozen. `A` starts Kaiming-uniform and `B` at zero, as
 * in PEFT, so the adapted model starts exactly at the base.
 */
export const LoraOptionsSchema = z
  .object({
    rank: z.number().int().positive().describe('rank r of the update A B (PEFT r)'),
    alpha: z
      .number()
      .positive()
      .optional()
      .describe(
        'scale numerator: the update is multiplied by alpha / rank (default: rank, scale 1)',
      ),
    targets: z
      .array(z.enum(loraTargetModules))
      .min(1)
      .default(['q_proj', 'k_proj', 'v_proj', 'o_proj'])
      .describe('projections to adapt (PEFT target_modules); default the attention projections'),
    seed: z.number().int().default(0).describe('seed of the Kaiming-uniform A matrices'),
  })
  .strict();

export type LoraOptions = z.output<typeof LoraOptionsSchema>;
export type LoraOptionsInput = z.input<typeof LoraOptionsSchema>;

/** Validates LoRA options, naming any bad field. */
export function parseLoraOptions(input: unknown): LoraOptions {
  return parseWithSchema(LoraOptionsSchema, input, 'LoRA options');
}
