import type { AdvantageEstimatorOptionsInput } from './advantage-estimator-options';

/**
 * Estimator configurations that reproduce a peer library's numbers, by name,
 * for a registry that resolves names to instances
 * (`createAdvantageEstimator(advantageEstimatorPresets['verl-grpo'])`). Each
 * is tested against a float64 transcription of its source.
 */
export const advantageEstimatorPresets = Object.freeze({
  /** TRL `GRPOTrainer` (`scale_rewards='group'`, 1e-4; unscorable completions get 0). */
  'trl-grpo': { type: 'grpo', epsilon: 1e-4, nanRewards: 'ignore' },
  /** TRL `GRPOTrainer(scale_rewards='batch')`. */
  'trl-grpo-batch': { type: 'grpo', scale: 'batch', epsilon: 1e-4, nanRewards: 'ignore' },
  /** TRL `RLOOTrainer` (leave-one-out baseline, scorable siblings only). */
  'trl-rloo': { type: 'rloo', nanRewards: 'ignore' },
  /** TRL `RLOOTrainer(normalize_advantages=True)`. */
  'trl-rloo-normalized': { type: 'rloo', normalize: 'batch', nanRewards: 'ignore' },
  /** verl `compute_grpo_outcome_advantage` (epsilon 1e-6). */
  'verl-grpo': { type: 'grpo', epsilon: 1e-6 },
  /** verl `compute_grpo_vectorized_outcome_advantage` (variance floored at 1e-6, then + 1e-6). */
  'verl-grpo-vectorized': { type: 'grpo', epsilon: 1e-6, varianceFloor: 1e-6 },
  /** verl `compute_grpo_outcome_advantage(norm_adv_by_std_in_grpo=False)`: Dr. GRPO. */
  'verl-dr-grpo': { type: 'dr-grpo' },
  /** verl `compute_rloo_outcome_advantage` and OpenRLHF `rloo`. */
  'verl-rloo': { type: 'rloo' },
  /** NeMo-RL GRPO with `use_leave_one_out_baseline` and `normalize_rewards`. */
  'nemo-rl-grpo': { type: 'rloo', scale: 'leave-one-out-std', epsilon: 1e-6 },
} as const satisfies Record<string, AdvantageEstimatorOptionsInput>);

/** A name of {@link advantageEstimatorPresets}. */
export type AdvantageEstimatorPresetName = keyof typeof advantageEstimatorPresets;
