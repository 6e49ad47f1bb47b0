import { z } from 'zod';

/**
 * The adaptive entropy coefficient of Skywork-OR1 (He et al. 2025, sec. 4),
 * as TRL's `use_adaptive_entropy`: after each optimizer step the coefficient
 * moves by `delta` toward more bonus when the entropy is at or below `target`
 * and toward less otherwise, within `[min, max]`; the bonus applies only
 * while the last measured entropy is at or below `target` (an entropy floor).
 * Defaults are TRL's.
 */
export const AdaptiveEntropyControllerOptionsSchema = z
  .object({
    initialCoefficient: z.number().min(0).finite().default(0).describe('TRL `entropy_coef`.'),
    target: z
      .number()
      .min(0)
      .finite()
      .default(0.2)
      .describe('TRL `entropy_target`, nats per token.'),
    delta: z.number().positive().finite().default(0.005).describe('TRL `entropy_coef_delta`.'),
    min: z.number().min(0).finite().default(0).describe('TRL `entropy_coef_min`.'),
    max: z.number().min(0).finite().default(1).describe('TRL `entropy_coef_max`.'),
  })
  .strict()
  .refine((options) => options.min <= options.max, {
    message: 'min must be <= max',
    path: ['min'],
  });

/** Input of {@link AdaptiveEntropyControllerOptionsSchema}. */
export type AdaptiveEntropyControllerOptions = z.input<
  typeof AdaptiveEntropyControllerOptionsSchema
>;
