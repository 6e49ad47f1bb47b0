import type { Message, RewardFunction } from '@cohort/core';
import { InvalidArgumentError } from '@cohort/core';

/** One query for the candidate selector: the system prompt and the user's message. */
export interface CandidateQuery {
  prompt: string;
  query: string;
}

/** What a reward for the candidate selector sees: the query, the candidates, and the one chosen. */
export interface CandidateRewardInput extends CandidateQuery {
  response: string;
  candidates: readonly string[];
  chosenIndex: number;
}

/**
 * Where the candidate selector's reward comes from: a function, or a person
 * (return a Promise that resolves when they answer). `null` means "does not
 * apply" (the decision is skipped and reported, not scored 0).
 */
export type CandidateRewardSource = (
  input: CandidateRewardInput,
) => number | null | Promise<number | null>;

/**
 * Adapts a core {@link RewardFunction} (a keyword, regex, length, classifier
 * or composite reward of `@cohort/environments`) to a
 * {@link CandidateRewardSource}: each decision is scored as a one-turn
 * conversation, `[system: prompt, user: query, assistant: response]`, with the
 * query as the scenario, `done: true` and `turnIndex: 0`. The completion's
 * token count comes from `countTokens` (a tokenizer's `encode(text).length`)
 * or, by default, from its number of whitespace-separated words.
 *
 * @example
 * ```ts
 * const reward = candidateRewardFromFunction(keywordReward({ keywords: ['refund'] }));
 * const trainer = new CandidateSelectorTrainer({ ...parts, reward });
 * ```
 */
export function candidateRewardFromFunction(
  rewardFunction: RewardFunction<CandidateQuery>,
  options: { countTokens?: (text: string) => number } = {},
): CandidateRewardSource {
  if (typeof rewardFunction?.score !== 'function') {
    throw new InvalidArgumentError({
      argument: 'rewardFunction',
      value: rewardFunction,
      message: 'must be a RewardFunction with a score(context) method',
    });
  }
  const countTokens =
    options.countTokens ?? ((text: string) => text.split(/\s+/).filter(Boolean).length);
  return ({ prompt, query, response }) => {
    const messages: Message[] = [
      ...(prompt === '' ? [] : [{ role: 'system' as const, content: prompt }]),
      { role: 'user', content: query },
      { role: 'assistant', content: response },
    ];
    return rewardFunction.score({
      scenario: { prompt, query },
      messages,
      completion: response,
      turnIndex: 0,
      done: true,
      completionTokenCount: countTokens(response),
    });
  };
}
