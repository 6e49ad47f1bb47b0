import { z } from 'zod';

/**
 * The single-sample estimators of KL(pi || pi_ref) from Schulman (2020),
 * "Approximating KL divergence": `k1` (unbiased, high variance, can be
 * negative), `k2` (biased, low variance, >= 0), `k3` (unbiased, low variance,
 * >= 0; the one GRPO uses), and `abs`, `|logp - logp_ref|` (verl and TRL's
 * PPO `kl_penalty: 'abs'`).
 */
export const KlEstimatorSchema = z.enum(['k1', 'k2', 'k3', 'abs']);

/** Name of a built-in per-token KL estimator: `'k1' | 'k2' | 'k3' | 'abs'`. */
export type KlEstimatorName = z.infer<typeof KlEstimatorSchema>;

/** Options of `createKlEstimator`: a built-in estimator by name, with the optional clamps of `klPerToken`. */
export const KlEstimatorOptionsSchema = z
  .object({
    name: KlEstimatorSchema,
    /** Clip each per-token estimate to `[-clamp, clamp]` (verl clamps its k3 to 10). */
    clamp: z.number().positive().optional(),
    /** Clip the log-ratio `logp_ref - logp` to `[-logRatioClamp, logRatioClamp]` first (NeMo-RL uses 20). */
    logRatioClamp: z.number().positive().optional(),
  })
  .strict();

/** Input type of {@link KlEstimatorOptionsSchema}. */
export type KlEstimatorOptions = z.input<typeof KlEstimatorOptionsSchema>;
