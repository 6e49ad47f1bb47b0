import { parseWithSchema, type RewardContext, type RewardFunction } from '@cohort/core';
import {
  type KeywordRewardOptionsInput,
  KeywordRewardOptionsSchema,
} from './keyword-reward-options';
import { rewardText } from './reward-text';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Keyword checks: the fraction of required keywords present, minus a penalty
 * per distinct forbidden keyword present.
 *
 * r = found_required / |required| - forbiddenPenalty * found_forbidden,
 * where the first term is 1 when `required` is empty.
 *
 * @example
 * ```ts
 * const reward = keywordReward({ required: ['refund', 'order'], forbidden: ['cannot'] });
 * reward.score({ ...context, completion: 'I cannot refund it.' }); // 0.5 - 1 = -0.5
 * ```
 */
export function keywordReward(options: KeywordRewardOptionsInput): RewardFunction {
  const parsed = parseWithSchema(KeywordRewardOptionsSchema, options, 'keyword reward options');
  const flags = parsed.caseSensitive ? 'u' : 'iu';
  const matcher = (keyword: string): RegExp =>
    new RegExp(
      parsed.wholeWord
        ? `(?<![\\p{L}\\p{N}_])${escapeRegExp(keyword)}(?![\\p{L}\\p{N}_])`
        : escapeRegExp(keyword),
      flags,
    );
  const required = parsed.required.map(matcher);
  const forbidden = [...new Set(parsed.forbidden)].map(matcher);
  return {
    name: parsed.name,
    scope: parsed.scope,
    score(context: RewardContext): number {
      const text = rewardText(context, parsed.target);
      const requiredPart =
        required.length === 0
          ? 1
          : required.filter((pattern) => pattern.test(text)).length / required.length;
      const forbiddenFound = forbidden.filter((pattern) => pattern.test(text)).length;
      return requiredPart - parsed.forbiddenPenalty * forbiddenFound;
    },
  };
}
