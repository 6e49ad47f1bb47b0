import type { Message, RewardContext, RewardFunction } from '@cohort/core';
import { InvalidArgumentError } from '@cohort/core';
import {
  type RewardFailure,
  type ScenarioLike,
  scoreRewardFunctions,
  type WeightedReward,
} from './reward-scoring-stage';

/**
 * One query for the candidate selector: the system prompt and the user's
 * message, and the scenario it came from (when it came from an environment's
 * scenario set: the rewards that check a scenario's goals read it).
 */
export interface CandidateQuery {
  prompt: string;
  query: string;
  scenario?: unknown;
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
  return (input) =>
    rewardFunction.score(decisionContext(input, countTokens) as RewardContext<CandidateQuery>) as
      | number
      | null
      | Promise<number | null>;
}

/** The one-turn conversation of a decision, as every candidate reward scores it. */
function decisionContext(
  input: CandidateRewardInput,
  countTokens: (text: string) => number,
): RewardContext<unknown> {
  const { prompt, query, response } = input;
  const messages: Message[] = [
    ...(prompt === '' ? [] : [{ role: 'system' as const, content: prompt }]),
    { role: 'user', content: query },
    { role: 'assistant', content: response },
  ];
  return {
    scenario: input.scenario ?? { prompt, query },
    messages,
    completion: response,
    turnIndex: 0,
    done: true,
    completionTokenCount: countTokens(response),
  };
}

/**
 * The candidate selector's reward from the weighted reward functions of a run,
 * scored by the trainer's reward-scoring stage ({@link scoreRewardFunctions}):
 * a decision is a one-turn episode (`[system, user, assistant]`, `done`,
 * `turnIndex` 0, the query's `scenario`), so its turn-scoped and
 * episode-scoped functions both score that one turn, and its reward is
 * `sum_f weight_f * score_f` over the functions that gave a score. A function
 * that throws or returns a non-finite value is left out and reported to
 * `onFailure` (one bad reward never ends a run); when no function gave a
 * score the decision's reward is `null` (skipped, not trained on).
 *
 * @example
 * ```ts
 * const reward = candidateRewardFromRewards({ rewards: [{ reward: goalCompletionReward(), weight: 1 }] });
 * ```
 */
export function candidateRewardFromRewards<S extends ScenarioLike>(options: {
  rewards: readonly WeightedReward<S>[];
  countTokens?: (text: string) => number;
  onFailure?: (failure: RewardFailure) => void;
}): CandidateRewardSource {
  const { rewards } = options;
  if (!Array.isArray(rewards) || rewards.length === 0) {
    throw new InvalidArgumentError({
      argument: 'rewards',
      value: rewards,
      message: 'must hold at least one weighted reward function',
    });
  }
  const countTokens =
    options.countTokens ?? ((text: string) => text.split(/\s+/).filter(Boolean).length);
  return async (input) => {
    const context = decisionContext(input, countTokens) as RewardContext<S>;
    const failures: RewardFailure[] = [];
    const trajectoryId = `${input.query.slice(0, 60)}#${input.chosenIndex}`;
    let total = 0;
    let scored = 0;
    for (const scope of ['turn', 'episode'] as const) {
      const scores = await scoreRewardFunctions({
        rewards,
        scope,
        context,
        trajectoryId,
        failures,
      });
      total += scores.total;
      scored += Object.values(scores.byName).filter((score) => score !== null).length;
    }
    for (const failure of failures) options.onFailure?.(failure);
    return scored === 0 ? null : total;
  };
}
