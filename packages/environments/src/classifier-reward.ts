import {
  InvalidArgumentError,
  parseWithSchema,
  type RewardContext,
  type RewardFunction,
} from '@cohort/core';
import {
  type ClassifierRewardOptionsInput,
  ClassifierRewardOptionsSchema,
} from './classifier-reward-options';
import { finiteScore, rewardText } from './reward-text';

/**
 * The score a text classifier gives one label: r = weight * score(label), 0
 * when the classifier does not return that label (for example cut by top-k).
 * Plug in a transformers.js pipeline (`text-classification`, sentiment,
 * toxicity) or any function of the same shape.
 *
 * @example
 * ```ts
 * const reward = classifierReward({ classify: (text) => sentiment(text, { top_k: null }), label: 'POSITIVE' });
 * ```
 */
export function classifierReward(options: ClassifierRewardOptionsInput): RewardFunction {
  const parsed = parseWithSchema(
    ClassifierRewardOptionsSchema,
    options,
    'classifier reward options',
  );
  const wanted = parsed.label.toLowerCase();
  return {
    name: parsed.name,
    scope: parsed.scope,
    async score(context: RewardContext): Promise<number> {
      const outputs = await parsed.classify(rewardText(context, parsed.target));
      if (!Array.isArray(outputs)) {
        throw new InvalidArgumentError({
          argument: 'classify(text)',
          value: outputs,
          message: 'must resolve to an array of { label, score }',
        });
      }
      const match = outputs.find((output) => String(output?.label).toLowerCase() === wanted);
      if (!match) return 0;
      return finiteScore(
        parsed.name,
        parsed.weight * finiteScore(parsed.name, match.score, `score of ${parsed.label}`),
      );
    },
  };
}
