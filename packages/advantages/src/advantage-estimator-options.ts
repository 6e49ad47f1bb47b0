import { z } from 'zod';

const nanRewards = z
  .enum(['throw', 'ignore'])
  .optional()
  .describe(
    "'ignore': a NaN reward (unscorable) is left out of the statistics and gets advantage 0, as TRL's nanmean/nanstd; default 'throw'.",
  );

const zeroSpreadTolerance = z
  .number()
  .min(0)
  .default(0)
  .describe('Absolute tolerance for a group to count as having zero spread (max - min).');

/** GRPO (Shao et al. 2024): group mean (or median) baseline, divided by the group or batch std. */
export const GrpoEstimatorOptionsSchema = z
  .object({
    type: z.literal('grpo'),
    scale: z.enum(['group', 'batch']).default('group'),
    epsilon: z.number().min(0).default(1e-4).describe('1e-4 as TRL; verl uses 1e-6.'),
    baseline: z.enum(['mean', 'median']).default('mean'),
    zeroSpreadTolerance,
    varianceFloor: z
      .number()
      .min(0)
      .optional()
      .describe("std = sqrt(max(var, varianceFloor)), verl's vectorised GRPO (1e-6)."),
    nanRewards,
  })
  .strict();

/** Dr. GRPO (Liu et al. 2025): the group baseline only, no division by a standard deviation. */
export const DrGrpoEstimatorOptionsSchema = z
  .object({
    type: z.literal('dr-grpo'),
    baseline: z.enum(['mean', 'median']).default('mean'),
    zeroSpreadTolerance,
    nanRewards,
  })
  .strict();

/** RLOO (Kool et al. 2019; Ahmadian et al. 2024): leave-one-out group baseline. */
export const RlooEstimatorOptionsSchema = z
  .object({
    type: z.literal('rloo'),
    zeroSpreadTolerance,
    scale: z
      .enum(['none', 'leave-one-out-std'])
      .optional()
      .describe(
        "'leave-one-out-std': divide by the std of the other samples (NeMo-RL); default 'none'.",
      ),
    epsilon: z
      .number()
      .min(0)
      .optional()
      .describe('Added to the leave-one-out std; default 1e-6 (NeMo-RL).'),
    normalize: z
      .enum(['none', 'batch'])
      .optional()
      .describe("'batch': whiten the advantages over the batch (TRL normalize_advantages)."),
    nanRewards,
  })
  .strict();

/** REINFORCE++ (Hu 2025): optional group-mean baseline, then whitening over the batch. */
export const ReinforcePlusPlusEstimatorOptionsSchema = z
  .object({
    type: z.literal('reinforce++'),
    baseline: z.enum(['group-mean', 'none']).default('group-mean'),
    variance: z.enum(['population', 'sample']).default('population'),
    epsilon: z.number().min(0).default(1e-8),
    zeroSpreadTolerance,
  })
  .strict();

/** Critic baseline: `r - V`, with the values passed to `estimate`. */
export const CriticEstimatorOptionsSchema = z
  .object({ type: z.literal('critic'), zeroSpreadTolerance })
  .strict();

/**
 * Configuration of an advantage estimator, discriminated by `type`. Embed it in
 * a trainer config; parse it with `parseWithSchema` or pass it to
 * `createAdvantageEstimator`, which fills in the defaults.
 *
 * @example
 * ```ts
 * AdvantageEstimatorOptionsSchema.parse({ type: 'grpo' });
 * // { type: 'grpo', scale: 'group', epsilon: 1e-4, baseline: 'mean', zeroSpreadTolerance: 0 }
 * ```
 */
export const AdvantageEstimatorOptionsSchema = z.discriminatedUnion('type', [
  GrpoEstimatorOptionsSchema,
  DrGrpoEstimatorOptionsSchema,
  RlooEstimatorOptionsSchema,
  ReinforcePlusPlusEstimatorOptionsSchema,
  CriticEstimatorOptionsSchema,
]);

/** A parsed estimator configuration, defaults filled in. */
export type AdvantageEstimatorOptions = z.output<typeof AdvantageEstimatorOptionsSchema>;

/** An estimator configuration as a user writes it, defaults optional. */
export type AdvantageEstimatorOptionsInput = z.input<typeof AdvantageEstimatorOptionsSchema>;
