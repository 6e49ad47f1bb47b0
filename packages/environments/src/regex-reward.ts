import {
  InvalidArgumentError,
  parseWithSchema,
  type RewardContext,
  type RewardFunction,
} from '@cohort/core';
import { type RegexRewardOptionsInput, RegexRewardOptionsSchema } from './regex-reward-options';
import { rewardText } from './reward-text';

/**
 * `reward` when the text matches the pattern, else `penalty`. Global and
 * sticky flags are dropped, so the result does not depend on earlier calls.
 *
 * @example
 * ```ts
 * const reward = regexReward({ pattern: '\\bA\\d{4}\\b', reward: 1, penalty: -0.5 });
 * reward.score({ ...context, completion: 'Your order A1042 is on its way.' }); // 1
 * ```
 */
export function regexReward(options: RegexRewardOptionsInput): RewardFunction {
  const parsed = parseWithSchema(RegexRewardOptionsSchema, options, 'regex reward options');
  let pattern: RegExp;
  try {
    pattern =
      parsed.pattern instanceof RegExp
        ? new RegExp(parsed.pattern.source, parsed.pattern.flags.replace(/[gy]/g, ''))
        : new RegExp(parsed.pattern, parsed.flags ?? '');
  } catch (error) {
    throw new InvalidArgumentError({
      argument: 'pattern',
      value: String(parsed.pattern),
      message: `is not a valid regular expression (${(error as Error).message})`,
      cause: error,
    });
  }
  return {
    name: parsed.name,
    scope: parsed.scope,
    score(context: RewardContext): number {
      return pattern.test(rewardText(context, parsed.target)) ? parsed.reward : parsed.penalty;
    },
  };
}
