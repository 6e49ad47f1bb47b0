import {
  InvalidArgumentError,
  parseWithSchema,
  type RewardContext,
  type RewardFunction,
} from '@cohort/core';
import {
  type FormatRewardOptions,
  type FormatRewardOptionsInput,
  FormatRewardOptionsSchema,
} from './format-reward-options';

/** The result of each enabled format check, by name. */
export type FormatCheckResults = Partial<
  Record<
    | 'nonEmpty'
    | 'noRoleMarkers'
    | 'terminalPunctuation'
    | 'notTruncated'
    | 'noRepeatedSentences'
    | 'maxCharacters',
    boolean
  >
>;

/** Runs the enabled checks of {@link formatReward} on one completion. */
export function formatChecks(
  completion: string,
  finishReason: RewardContext['finishReason'],
  options: FormatRewardOptions,
): FormatCheckResults {
  const text = completion.trim();
  const results: FormatCheckResults = {};
  if (options.nonEmpty) results.nonEmpty = text.length > 0;
  if (options.noRoleMarkers)
    results.noRoleMarkers = !options.roleMarkers.some((marker) => completion.includes(marker));
  if (options.terminalPunctuation) results.terminalPunctuation = /[.!?][)"'\]]*$/.test(text);
  if (options.notTruncated) results.notTruncated = finishReason !== 'length';
  if (options.noRepeatedSentences) {
    const sentences = text
      .split(/(?<=[.!?])\s+/)
      .map((sentence) => sentence.toLowerCase().replace(/\s+/g, ' ').trim())
      .filter((sentence) => sentence.length > 0);
    results.noRepeatedSentences = new Set(sentences).size === sentences.length;
  }
  if (options.maxCharacters !== undefined)
    results.maxCharacters = completion.length <= options.maxCharacters;
  return results;
}

/**
 * Format checks on the scored agent turn: not empty, no leaked role or template
 * markers, ends a sentence, not truncated at the token limit, no repeated
 * sentence, and optionally at most `maxCharacters`.
 *
 * fraction mode: r = penalty + (reward - penalty) * passed / enabled;
 * all mode: r = reward if every check passes, else penalty.
 *
 * @example
 * ```ts
 * const reward = formatReward({ mode: 'all', penalty: -1 });
 * reward.score({ ...context, completion: 'User: hi' }); // -1
 * ```
 */
export function formatReward(options: FormatRewardOptionsInput = {}): RewardFunction & {
  readonly options: FormatRewardOptions;
} {
  const parsed = parseWithSchema(FormatRewardOptionsSchema, options, 'format reward options');
  const results = formatChecks('', undefined, parsed);
  if (Object.keys(results).length === 0) {
    throw new InvalidArgumentError({
      argument: 'options',
      value: options,
      message: 'turns every format check off; enable at least one',
    });
  }
  return {
    name: parsed.name,
    scope: parsed.scope,
    options: parsed,
    score(context: RewardContext): number {
      const checks = Object.values(formatChecks(context.completion, context.finishReason, parsed));
      const passed = checks.filter(Boolean).length;
      if (parsed.mode === 'all') return passed === checks.length ? parsed.reward : parsed.penalty;
      return parsed.penalty + ((parsed.reward - parsed.penalty) * passed) / checks.length;
    },
  };
}
