import { z } from 'zod';

/** A learning-rate schedule with linear warmup. */
export const LearningRateScheduleSchema = z
  .object({
    type: z.enum(['constant', 'linear', 'cosine']).default('constant'),
    /** Steps of linear warmup from 0 to the base rate. */
    warmupSteps: z.number().int().nonnegative().default(0),
    /** Step at which `linear` and `cosine` reach `minLearningRate` (required for them). */
    totalSteps: z.number().int().positive().optional(),
    minLearningRate: z.number().nonnegative().default(0),
  })
  .strict()
  .refine((schedule) => schedule.type === 'constant' || schedule.totalSteps !== undefined, {
    message: 'totalSteps is required for linear and cosine schedules',
    path: ['totalSteps'],
  })
  .refine(
    (schedule) =>
      schedule.totalSteps === undefined ||
      schedule.totalSteps > schedule.warmupSteps ||
      schedule.type === 'constant',
    {
      message: 'totalSteps must exceed warmupSteps',
      path: ['totalSteps'],
    },
  );

export type LearningRateSchedule = z.output<typeof LearningRateScheduleSchema>;

/**
 * Learning rate of update number `step` (1-based):
 * warmup `lr * step / warmupSteps` for `step <= warmupSteps`; then, with
 * `progress = min(1, (step - warmupSteps) / (totalSteps - warmupSteps))`,
 * constant `lr`, linear `lr + (min - lr) progress`, or cosine
 * `min + (lr - min) (1 + cos(pi progress)) / 2` (Loshchilov and Hutter 2017, eq. 5).
 *
 * @example
 * ```ts
 * learningRateAt({ type: 'cosine', warmupSteps: 10, totalSteps: 110, minLearningRate: 0 }, 1e-3, 60); // 5e-4
 * ```
 */
export function learningRateAt(
  schedule: LearningRateSchedule,
  baseLearningRate: number,
  step: number,
): number {
  const { type, warmupSteps, totalSteps, minLearningRate } = schedule;
  if (warmupSteps > 0 && step <= warmupSteps) return (baseLearningRate * step) / warmupSteps;
  if (type === 'constant' || totalSteps === undefined) return baseLearningRate;
  const progress = Math.min(1, Math.max(0, (step - warmupSteps) / (totalSteps - warmupSteps)));
  if (type === 'linear') return baseLearningRate + (minLearningRate - baseLearningRate) * progress;
  return (
    minLearningRate +
    ((baseLearningRate - minLearningRate) * (1 + Math.cos(Math.PI * progress))) / 2
  );
}
