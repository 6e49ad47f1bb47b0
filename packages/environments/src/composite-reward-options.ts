import type { RewardFunction } from '@cohort/core';
import { z } from 'zod';

const RewardFunctionSchema = z.custom<RewardFunction<unknown>>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    (value as { name: string }).name.length > 0 &&
    typeof (value as { score?: unknown }).score === 'function',
  { message: 'must be a RewardFunction (a non-empty name and a score(context) method)' },
);

/**
 * Options of {@link compositeReward}.
 * - `components`: rewards with weights (any finite weight; negative ones penalize).
 *   Names must be unique, since results are reported by name.
 * - `nullHandling`: `skip` leaves out components that return null (or fail);
 *   `zero` counts them as 0.
 * - `normalize`: divide the weighted sum by the sum of |weights| counted.
 */
export const CompositeRewardOptionsSchema = z
  .object({
    name: z.string().min(1).default('composite'),
    scope: z.enum(['turn', 'episode']).default('episode'),
    components: z
      .array(
        z.object({ reward: RewardFunctionSchema, weight: z.number().finite().default(1) }).strict(),
      )
      .min(1),
    nullHandling: z.enum(['skip', 'zero']).default('skip'),
    normalize: z.boolean().default(false),
  })
  .strict()
  .superRefine((options, context) => {
    const seen = new Set<string>();
    options.components.forEach((component, index) => {
      const name = component.reward.name;
      if (seen.has(name)) {
        context.addIssue({
          code: 'custom',
          path: ['components', index, 'reward', 'name'],
          message: `duplicates the name "${name}"; components are reported by name, so names must be unique`,
        });
      }
      seen.add(name);
    });
  });

export type CompositeRewardOptions = z.output<typeof CompositeRewardOptionsSchema>;
export type CompositeRewardOptionsInput = z.input<typeof CompositeRewardOptionsSchema>;
