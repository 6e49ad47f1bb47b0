import type { ObjectivePresetName, SurrogateOptions } from './objective-options';

/**
 * GRPO as in DeepSeekMath (Shao et al. 2024, eq. 3): token ratios, clip
 * 0.2/0.2, each sequence's tokens averaged then sequences averaged, and a k3
 * KL penalty with beta = 0.04. (TRL's GRPOTrainer now defaults to beta = 0;
 * set `klCoefficient: 0` to match it.)
 */
export const grpo: Readonly<SurrogateOptions> = Object.freeze({
  ratioLevel: 'token',
  clip: true,
  clipLow: 0.2,
  clipHigh: 0.2,
  aggregation: 'sequence-mean',
  klCoefficient: 0.04,
  klEstimator: 'k3',
  entropyCoefficient: 0,
});

/**
 * Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like Training"): GRPO
 * without the length bias, the per-token losses summed and divided by a
 * constant `B * constantLength` (set `constantLength` to the run's maximum
 * completion length to match the paper exactly); no KL term. The other half of
 * Dr. GRPO, advantages without std scaling, is `scale: 'none'` in
 * `@cohort/advantages`.
 */
export const drGrpo: Readonly<SurrogateOptions> = Object.freeze({
  ratioLevel: 'token',
  clip: true,
  clipLow: 0.2,
  clipHigh: 0.2,
  aggregation: 'constant',
  klCoefficient: 0,
  klEstimator: 'k3',
  entropyCoefficient: 0,
});

/**
 * DAPO (Yu et al. 2025): clip-higher with clipLow 0.2 and clipHigh 0.28,
 * token-level mean over the batch, no KL term. Dynamic sampling and overlong
 * reward shaping belong to the trainer.
 */
export const dapo: Readonly<SurrogateOptions> = Object.freeze({
  ratioLevel: 'token',
  clip: true,
  clipLow: 0.2,
  clipHigh: 0.28,
  aggregation: 'token-mean',
  klCoefficient: 0,
  klEstimator: 'k3',
  entropyCoefficient: 0,
});

/**
 * GSPO (Zheng et al. 2025): the sequence-level ratio
 * `exp(mean_t (logp - logp_old))`, clip ranges 3e-4 (low) and 4e-4 (high) as
 * in the paper, sequences averaged, no KL term.
 */
export const gspo: Readonly<SurrogateOptions> = Object.freeze({
  ratioLevel: 'sequence',
  clip: true,
  clipLow: 3e-4,
  clipHigh: 4e-4,
  aggregation: 'sequence-mean',
  klCoefficient: 0,
  klEstimator: 'k3',
  entropyCoefficient: 0,
});

/**
 * PPO-clip (Schulman et al. 2017) with epsilon 0.2 and a token mean; the KL
 * to the reference, if any, usually goes into the rewards
 * (`klPenalizedRewards` in `@cohort/kl`) rather than the loss.
 */
export const ppo: Readonly<SurrogateOptions> = Object.freeze({
  ratioLevel: 'token',
  clip: true,
  clipLow: 0.2,
  clipHigh: 0.2,
  aggregation: 'token-mean',
  klCoefficient: 0,
  klEstimator: 'k3',
  entropyCoefficient: 0,
});

/**
 * Vanilla policy gradient (REINFORCE with the given advantages): no clipping,
 * `loss = -rho * A` whose gradient at `rho = 1` is `-A grad log pi`.
 */
export const vanillaPg: Readonly<SurrogateOptions> = Object.freeze({
  ratioLevel: 'token',
  clip: false,
  clipLow: 0.2,
  clipHigh: 0.2,
  aggregation: 'token-mean',
  klCoefficient: 0,
  klEstimator: 'k3',
  entropyCoefficient: 0,
});

/**
 * BNPO as TRL's `loss_type='bnpo'`: GRPO's clip 0.2/0.2, the per-token losses
 * averaged over all masked tokens of the (local) batch, no KL (TRL's default
 * beta = 0). On one process TRL's `'dapo'` normalizes the same way.
 */
export const bnpo: Readonly<SurrogateOptions> = Object.freeze({
  ratioLevel: 'token',
  policyLoss: 'clip',
  clip: true,
  clipLow: 0.2,
  clipHigh: 0.2,
  aggregation: 'token-mean',
  klCoefficient: 0,
  klEstimator: 'k3',
  entropyCoefficient: 0,
});

/**
 * CISPO (MiniMax-M1, 2025) as TRL's `loss_type='cispo'` with ScaleRL's
 * recommended `epsilon_high = 5`: `-sg(min(rho, 5)) A log pi`, no lower bound
 * (`clipLow: 1`), token mean, no KL. verl's CISPO clips both sides with its
 * `clip_ratio` (0.2): set `clipLow: 0.2, clipHigh: 0.2`.
 */
export const cispo: Readonly<SurrogateOptions> = Object.freeze({
  ratioLevel: 'token',
  policyLoss: 'cispo',
  clip: true,
  clipLow: 1,
  clipHigh: 4,
  aggregation: 'token-mean',
  klCoefficient: 0,
  klEstimator: 'k3',
  entropyCoefficient: 0,
});

/**
 * SAPO (Gao et al. 2025, "Soft Adaptive Policy Optimization") as TRL's
 * `loss_type='sapo'` and verl's `compute_policy_loss_sapo`: the soft gate
 * `(4 / tau) sigmoid(tau (rho - 1))` with tau 1 for positive and 1.05 for
 * negative advantages, sequences averaged (both use a sequence mean), no KL.
 */
export const sapo: Readonly<SurrogateOptions> = Object.freeze({
  ratioLevel: 'token',
  policyLoss: 'sapo',
  clip: true,
  clipLow: 0.2,
  clipHigh: 0.2,
  sapoTemperaturePositive: 1,
  sapoTemperatureNegative: 1.05,
  aggregation: 'sequence-mean',
  klCoefficient: 0,
  klEstimator: 'k3',
  entropyCoefficient: 0,
});

/** All presets by name. */
export const objectivePresets: Readonly<Record<ObjectivePresetName, Readonly<SurrogateOptions>>> =
  Object.freeze({
    grpo,
    drGrpo,
    dapo,
    gspo,
    ppo,
    vanillaPg,
    bnpo,
    cispo,
    sapo,
  });
