import { KlEstimatorSchema, LossAggregationSchema } from '@cohort/kl';
import { z } from 'zod';

/** Names of the built-in objective presets. */
export const ObjectivePresetNameSchema = z.enum([
  'grpo',
  'drGrpo',
  'dapo',
  'gspo',
  'ppo',
  'vanillaPg',
]);

/** A preset name: `'grpo' | 'drGrpo' | 'dapo' | 'gspo' | 'ppo' | 'vanillaPg'`. */
export type ObjectivePresetName = z.infer<typeof ObjectivePresetNameSchema>;

/** Whether the importance ratio is per token (PPO, GRPO) or per sequence (GSPO). */
export const RatioLevelSchema = z.enum(['token', 'sequence']);

/** `'token' | 'sequence'`. */
export type RatioLevel = z.infer<typeof RatioLevelSchema>;

/**
 * Config of the generalized surrogate objective, as a trainer config embeds
 * it. Every field is optional: the values come from `preset` (if given), then
 * from the fields set here, then from the defaults (those of `ppo`).
 * A config that sets `clipLow` without `clipHigh` gets `clipHigh = clipLow`.
 */
export const ObjectiveConfigSchema = z
  .object({
    preset: ObjectivePresetNameSchema.optional(),
    ratioLevel: RatioLevelSchema.optional(),
    /** `false` turns off ratio clipping (vanilla policy gradient). */
    clip: z.boolean().optional(),
    /** Lower clip range: the ratio is clipped below at `1 - clipLow`. In [0, 1). */
    clipLow: z.number().min(0).lt(1).optional(),
    /** Upper clip range: the ratio is clipped above at `1 + clipHigh` (clip-higher, DAPO). */
    clipHigh: z.number().min(0).finite().optional(),
    /** Dual-clip constant c > 1: for A < 0 the per-token loss is capped at `-c * A` (Ye et al. 2020). */
    dualClip: z.number().gt(1).finite().optional(),
    aggregation: LossAggregationSchema.optional(),
    /** For `'constant'` aggregation: the per-sequence length L in `B * L` (default: the padded length). */
    constantLength: z.number().positive().finite().optional(),
    /** beta, the weight of the KL-to-reference term in the loss. */
    klCoefficient: z.number().min(0).finite().optional(),
    klEstimator: KlEstimatorSchema.optional(),
    /** Clamp each per-token KL estimate to [-klClamp, klClamp] (verl uses 10 for k3). */
    klClamp: z.number().positive().optional(),
    /** Weight of the entropy bonus (subtracted from the loss). */
    entropyCoefficient: z.number().finite().optional(),
  })
  .strict();

/** Input type of {@link ObjectiveConfigSchema}. */
export type ObjectiveConfig = z.input<typeof ObjectiveConfigSchema>;

/** The fully resolved settings of the surrogate objective (a preset is one of these). */
export interface SurrogateSettings {
  ratioLevel: RatioLevel;
  clip: boolean;
  clipLow: number;
  clipHigh: number;
  dualClip?: number;
  aggregation: z.infer<typeof LossAggregationSchema>;
  constantLength?: number;
  klCoefficient: number;
  klEstimator: z.infer<typeof KlEstimatorSchema>;
  klClamp?: number;
  entropyCoefficient: number;
}
