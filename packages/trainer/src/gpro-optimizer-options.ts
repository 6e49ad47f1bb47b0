import { OptimizerOptionsSchema } from '@cohort/tfjs';
import { z } from 'zod';

/** Options of {@link createGproOptimizer}. */
export const GproOptimizerOptionsSchema = z
  .object({
    /**
     * `group`: r minus the mean of the transitions sharing a `groupId`, over their
     * standard deviation (GRPO); transitions without a group id form one group.
     * `critic`: r - V(s) from the critic, whitened over the batch.
     */
    advantage: z.enum(['group', 'critic']).default('group'),
    /** Passes over each batch. */
    epochs: z.number().int().positive().default(4),
    clipLow: z.number().min(0).lt(1).default(0.2),
    clipHigh: z.number().min(0).default(0.2),
    /** Weight of the exact KL between the actor's and the initial actor's distributions over the K candidates. */
    klCoefficient: z.number().min(0).default(0.01),
    actorOptimizer: OptimizerOptionsSchema.default({
      type: 'adam',
      learningRate: 3e-3,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0,
      decayVectors: false,
      maxGradNorm: 1,
      schedule: { type: 'constant', warmupSteps: 0, minLearningRate: 0 },
    }),
    criticOptimizer: OptimizerOptionsSchema.default({
      type: 'adam',
      learningRate: 3e-3,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0,
      decayVectors: false,
      maxGradNorm: 1,
      schedule: { type: 'constant', warmupSteps: 0, minLearningRate: 0 },
    }),
  })
  .strict();

export type GproOptimizerOptions = z.output<typeof GproOptimizerOptionsSchema>;
export type GproOptimizerOptionsInput = z.input<typeof GproOptimizerOptionsSchema>;
