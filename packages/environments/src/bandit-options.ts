import { z } from 'zod';

/**
 * Drift of a non-stationary bandit, applied every `every` ticks of its clock
 * (`pulls`: each pull; `steps`: each `bandit.tick()`, e.g. one per training step).
 * - `swap`: the best arm's mean is swapped with that of another arm chosen at
 *   random, so the best arm always changes (when means differ).
 * - `random-walk`: every mean moves by `Normal(0, scale)`; Bernoulli means are
 *   reflected back into [0, 1].
 */
export const BanditDriftSchema = z
  .object({
    every: z.number().int().positive(),
    kind: z.enum(['swap', 'random-walk']),
    scale: z.number().nonnegative().finite().default(0.1),
    clock: z.enum(['pulls', 'steps']).default('pulls'),
  })
  .strict();

/**
 * Options of {@link createBandit}.
 *
 * @example
 * ```ts
 * BanditOptionsSchema.parse({ armMeans: [0.2, 0.8], noise: 'bernoulli', seed: 1 });
 * ```
 */
export const BanditOptionsSchema = z
  .object({
    armMeans: z.array(z.number().finite()).min(1),
    noise: z.enum(['gaussian', 'bernoulli']).default('gaussian'),
    /** Standard deviation of Gaussian rewards (ignored for Bernoulli). */
    noiseStd: z.number().nonnegative().finite().default(1),
    drift: BanditDriftSchema.optional(),
    /** Seeds the drift stream; reward noise comes from the `random` passed to `pull`. */
    seed: z.number().int().default(0),
  })
  .strict()
  .superRefine((options, context) => {
    if (options.noise !== 'bernoulli') return;
    options.armMeans.forEach((mean, index) => {
      if (mean < 0 || mean > 1) {
        context.addIssue({
          code: 'custom',
          path: ['armMeans', index],
          message: `is ${mean}; a Bernoulli arm's mean is a probability in [0, 1]`,
        });
      }
    });
  });

export type BanditDrift = z.output<typeof BanditDriftSchema>;
export type BanditOptions = z.output<typeof BanditOptionsSchema>;
export type BanditOptionsInput = z.input<typeof BanditOptionsSchema>;
