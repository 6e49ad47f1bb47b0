import {
  parseWithSchema,
  type RewardContext,
  type RewardFunction,
  type Scenario,
} from '@cohort/core';
import {
  type GoalCompletionRewardOptionsInput,
  GoalCompletionRewardOptionsSchema,
} from './goal-completion-reward-options';
import { agentTextsOf } from './reward-text';
import { evaluateSuccessCriteria } from './success-criteria';

/**
 * Goal completion: the weighted fraction of the scenario's success criteria
 * that the agent's messages meet (see {@link evaluateSuccessCriteria}),
 * `sum_i w_i [met_i] / sum_i w_i`, in [0, 1]. Returns null when the context's
 * scenario has no success criteria (not a conversation scenario).
 *
 * @example
 * ```ts
 * const reward = goalCompletionReward();
 * reward.score({ scenario, messages, completion, ... }); // 0.75 when 3 of 4 weight is met
 * ```
 */
export function goalCompletionReward(
  options: GoalCompletionRewardOptionsInput = {},
): RewardFunction<Scenario> {
  const parsed = parseWithSchema(
    GoalCompletionRewardOptionsSchema,
    options,
    'goal completion reward options',
  );
  return {
    name: parsed.name,
    scope: parsed.scope,
    score(context: RewardContext<Scenario>): number | null {
      const criteria = (context.scenario as Partial<Scenario> | undefined)?.successCriteria;
      if (!Array.isArray(criteria) || criteria.length === 0) return null;
      return evaluateSuccessCriteria({ successCriteria: criteria }, agentTextsOf(context))
        .completion;
    },
  };
}
