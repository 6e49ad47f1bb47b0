import { z } from 'zod';
import { LearningRateScheduleSchema } from './learning-rate-schedule';

/** Options of {@link createOptimizer}. */
export const OptimizerOptionsSchema = z
  .object({
    /** `'adam'`: L2 decay added to the gradient; `'adamw'`: decoupled decay (Loshchilov and Hutter 2019). */
    type: z.enum(['adam', 'adamw']).default('adamw'),
    learningRate: z.number().positive(),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: z.number().positive().default(1e-8),
    weightDecay: z.number().nonnegative().default(0),
    /** Also decay rank-0/1 parameters (biases, layer-norm gains). Default false, as in GPT-2 training recipes. */
    decayVectors: z.boolean().default(false),
    /** Clip the global gradient norm to this value; omitted: no clipping. */
    maxGradNorm: z.number().positive().optional(),
    schedule: LearningRateScheduleSchema.default({
      type: 'constant',
      warmupSteps: 0,
      minLearningRate: 0,
    }),
  })
  .strict();

export type OptimizerOptions = z.output<typeof OptimizerOptionsSchema>;
export type OptimizerOptionsInput = z.input<typeof OptimizerOptionsSchema>;
