import { z } from 'zod';

/**
 * The single-sample estimators of KL(pi || pi_ref) from Schulman (2020),
 * "Approximating KL divergence": `k1` (unbiased, high variance, can be
 * negative), `k2` (biased, low variance, >= 0), `k3` (unbiased, low variance,
 * >= 0; the one GRPO uses), and `abs`, `|logp - logp_ref|` (verl and TRL's
 * PPO `kl_penalty: 'abs'`).
 */
export const KlEstimatorSchema = z.enum(['k1', 'k2', 'k3', 'abs']);

/** Name of a per-token KL estimator: `'k1' | 'k2' | 'k3' | 'abs'`. */
export type KlEstimator = z.infer<typeof KlEstimatorSchema>;
