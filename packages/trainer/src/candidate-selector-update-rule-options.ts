import { OptimizerOptionsSchema } from '@cohort/tfjs';
import { z } from 'zod';

const defaultAdam = {
  type: 'adam',
  learningRate: 1e-2,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0,
  decayVectors: false,
  maxGradNorm: 1,
  schedule: { type: 'constant', warmupSteps: 0, minLearningRate: 0 },
} as const;

/**
 * Options of {@link createCandidateUpdateRule}, with defaults: group advantages, 4
 * epochs, clip 0.2 both sides, beta 0.01, Adam at 1e-2 with gradient-norm
 * clipping at 1 for both the actor and the critic.
 */
export const CandidateUpdateRuleOptionsSchema = z
  .object({
    /**
     * `group`: advantages relative to the other answers to the same query
     * (transitions sharing a `groupId`; GRPO). `critic`: `r - V(x)` from the
     * critic, detached.
     */
    advantage: z.enum(['group', 'critic']).default('group'),
    /** `group` advantages: divide by the group's standard deviation (GRPO) or not (`none`, Dr. GRPO). */
    groupScale: z.enum(['group', 'none']).default('group'),
    /**
     * `critic` advantages: `none` uses `r - V` as is, so they fade as the critic learns;
     * `whiten` centers and scales them over the batch (PPO practice), which also
     * inflates the critic's residual noise once it is accurate.
     */
    criticNormalization: z.enum(['none', 'whiten']).default('none'),
    /** Passes over each batch (PPO's epochs; the first is on-policy, ratio 1). */
    epochs: z.number().int().positive().default(4),
    clipLow: z.number().min(0).lt(1).default(0.2),
    clipHigh: z.number().min(0).default(0.2),
    /** beta: weight of the exact KL between the actor's and the initial actor's distributions over the K candidates. */
    klCoefficient: z.number().min(0).default(0.01),
    /** Optimizer of the actor, unless one is passed to the constructor. */
    actorOptimizer: OptimizerOptionsSchema.default(defaultAdam),
    /** Optimizer of the critic, unless one is passed to the constructor. */
    criticOptimizer: OptimizerOptionsSchema.default(defaultAdam),
  })
  .strict();

export type CandidateUpdateRuleOptions = z.output<typeof CandidateUpdateRuleOptionsSchema>;
export type CandidateUpdateRuleOptionsInput = z.input<typeof CandidateUpdateRuleOptionsSchema>;
