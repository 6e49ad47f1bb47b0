import { z } from 'zod';
import { functionSchema, RewardTargetSchema } from './reward-text';

/** One label of a classifier's output, as transformers.js text-classification pipelines give. */
export interface ClassifierLabelScore {
  label: string;
  score: number;
}

/** Options of {@link classifierReward}. */
export const ClassifierRewardOptionsSchema = z
  .object({
    name: z.string().min(1).default('classifier'),
    scope: z.enum(['turn', 'episode']).default('episode'),
    classify: functionSchema<(text: string) => Promise<readonly ClassifierLabelScore[]>>(
      '(text) => Promise<{ label, score }[]>',
    ),
    /** The label whose score is the reward (compared case-insensitively). */
    label: z.string().min(1),
    weight: z.number().finite().default(1),
    target: RewardTargetSchema,
  })
  .strict();

export type ClassifierRewardOptionsInput = z.input<typeof ClassifierRewardOptionsSchema>;
