import { EmptyRowsSchema, KlEstimatorSchema, LossAggregationSchema } from '@cohort/kl';
import { z } from 'zod';

/** Names of the built-in objective presets. */
export const ObjectivePresetNameSchema = z.enum([
  'grpo',
  'drGrpo',
  'dapo',
  'gspo',
  'ppo',
  'vanillaPg',
  'bnpo',
  'cispo',
  'sapo',
]);

/** A preset name, see {@link ObjectivePresetNameSchema}. */
export type ObjectivePresetName = z.infer<typeof ObjectivePresetNameSchema>;

/** Whether the importance ratio is per token (PPO, GRPO) or per sequence (GSPO). */
export const RatioLevelSchema = z.enum(['token', 'sequence']);

/** `'token' | 'sequence'`. */
export type RatioLevel = z.infer<typeof RatioLevelSchema>;

/**
 * The per-token policy term:
 * - `'clip'`: PPO's `-min(rho A, clip(rho) A)` (Schulman et al. 2017), with
 *   dual clip and clip-higher;
 * - `'cispo'`: `-sg(clip(rho, 1 - clipLow, 1 + clipHigh)) A log pi`, clipped
 *   and stop-gradient importance weights (MiniMax-M1, 2025; TRL, verl);
 * - `'sapo'`: `-(4 / tau) sigmoid(tau (rho - 1)) A`, a soft gate instead of a
 *   hard clip, `tau` by the sign of A (SAPO, Gao et al. 2025; TRL, verl).
 */
export const PolicyLossSchema = z.enum(['clip', 'cispo', 'sapo']);

/** `'clip' | 'cispo' | 'sapo'`. */
export type PolicyLoss = z.infer<typeof PolicyLossSchema>;

/**
 * Truncated (or masked) importance sampling for the mismatch between the
 * engine that sampled the tokens and the one that learns (TRL
 * `vllm_importance_sampling_mode`, verl TIS `tis_imp_ratio_cap`). The weight
 * is `w = exp(logp_old - logp_sampler)` per token (`'token-*'`) or
 * `exp(sum_t m (logp_old - logp_sampler))` per sequence (`'sequence-*'`);
 * `*-truncate` clips it to `[min, max]`, `*-mask` sets it to 0 outside.
 */
export const SamplerCorrectionSchema = z
  .object({
    mode: z
      .enum(['token-truncate', 'token-mask', 'sequence-truncate', 'sequence-mask'])
      .default('token-truncate'),
    max: z.number().positive().describe('Upper bound of the weight (TRL default 3, verl TIS 2).'),
    min: z.number().min(0).optional().describe('Lower bound of the weight; none by default.'),
  })
  .strict();

/** Parsed {@link SamplerCorrectionSchema}. */
export type SamplerCorrection = z.output<typeof SamplerCorrectionSchema>;

/**
 * Config of the generalized surrogate objective, as a trainer config embeds
 * it. Every field is optional: the values come from `preset` (if given), then
 * from the fields set here, then from the defaults (those of `ppo`).
 * A config that sets `clipLow` without `clipHigh` gets `clipHigh = clipLow`.
 */
export const ObjectiveOptionsSchema = z
  .object({
    preset: ObjectivePresetNameSchema.optional(),
    ratioLevel: RatioLevelSchema.optional(),
    policyLoss: PolicyLossSchema.optional(),
    /** `false` turns off ratio clipping (vanilla policy gradient). */
    clip: z.boolean().optional(),
    /** Lower clip range: the ratio is clipped below at `1 - clipLow`. In [0, 1]; 1 means no lower bound. */
    clipLow: z.number().min(0).max(1).optional(),
    /** Upper clip range: the ratio is clipped above at `1 + clipHigh` (clip-higher, DAPO). */
    clipHigh: z.number().min(0).finite().optional(),
    /** Dual-clip constant c > 1: for A < 0 the per-token loss is capped at `-c * A` (Ye et al. 2020). */
    dualClip: z.number().gt(1).finite().optional(),
    /** SAPO temperature for tokens with A > 0 (TRL and verl default 1). */
    sapoTemperaturePositive: z.number().positive().finite().optional(),
    /** SAPO temperature for tokens with A <= 0 (TRL and verl default 1.05). */
    sapoTemperatureNegative: z.number().positive().finite().optional(),
    aggregation: LossAggregationSchema.optional(),
    /** For `'constant'` aggregation: the per-sequence length L in `B * L` (default: the padded length). */
    constantLength: z.number().positive().finite().optional(),
    /** For `'prompt-mean'` aggregation: rows per prompt. */
    aggregationGroupSize: z.number().int().positive().optional(),
    /** For `'micro-batch-token-mean'` aggregation: rows per micro-batch. */
    microBatchSize: z.number().int().positive().optional(),
    /** Whether rows with no masked token count in a mean over rows (`'count'`, TRL) or not (`'exclude'`, verl). */
    emptyRows: EmptyRowsSchema.optional(),
    /** beta, the weight of the KL-to-reference term in the loss. */
    klCoefficient: z.number().min(0).finite().optional(),
    klEstimator: KlEstimatorSchema.optional(),
    /** Clamp each per-token KL estimate to [-klClamp, klClamp] (verl uses 10 for k3). */
    klClamp: z.number().positive().optional(),
    /** Clamp the log-ratio before the KL estimator (NeMo-RL uses 20). */
    klLogRatioClamp: z.number().positive().optional(),
    /** verl's `"k3+"`: the estimator's value with the gradient of k2. */
    klStraightThrough: z.boolean().optional(),
    /** Weight of the entropy bonus (subtracted from the loss). */
    entropyCoefficient: z.number().finite().optional(),
    /** Train only on the top fraction of tokens by entropy (TRL `top_entropy_quantile`); 1 trains on all. */
    topEntropyQuantile: z.number().gt(0).max(1).optional(),
    samplerCorrection: SamplerCorrectionSchema.optional(),
  })
  .strict();

/** Input type of {@link ObjectiveOptionsSchema}. */
export type ObjectiveOptions = z.input<typeof ObjectiveOptionsSchema>;

/** The fully resolved settings of the surrogate objective (a preset is one of these). */
export interface SurrogateOptions {
  ratioLevel: RatioLevel;
  policyLoss?: PolicyLoss;
  clip: boolean;
  clipLow: number;
  clipHigh: number;
  dualClip?: number;
  sapoTemperaturePositive?: number;
  sapoTemperatureNegative?: number;
  aggregation: z.infer<typeof LossAggregationSchema>;
  constantLength?: number;
  aggregationGroupSize?: number;
  microBatchSize?: number;
  emptyRows?: z.infer<typeof EmptyRowsSchema>;
  klCoefficient: number;
  klEstimator: z.infer<typeof KlEstimatorSchema>;
  klClamp?: number;
  klLogRatioClamp?: number;
  klStraightThrough?: boolean;
  entropyCoefficient: number;
  topEntropyQuantile?: number;
  samplerCorrection?: SamplerCorrection;
}
