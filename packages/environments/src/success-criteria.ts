import { InvalidArgumentError, type Scenario, type SuccessCriterion } from '@cohort/core';

/** Whether one success criterion is met, with its weight. */
export interface CriterionResult {
  id: string;
  met: boolean;
  weight: number;
}

/** Result of {@link evaluateSuccessCriteria}. */
export interface SuccessCriteriaResult {
  /** One entry per criterion, in the scenario's order. */
  criteria: CriterionResult[];
  /** Ids of the met criteria, in the scenario's order. */
  metIds: string[];
  /** Ids of the criteria not met yet, in the scenario's order. */
  unmetIds: string[];
  /** Weighted fraction met: `sum_i w_i [met_i] / sum_i w_i`, in [0, 1]. */
  completion: number;
  /** True when every criterion is met. */
  allMet: boolean;
}

const compiledPatterns = new Map<string, RegExp>();

function compilePattern(source: string, argument: string): RegExp {
  const cached = compiledPatterns.get(source);
  if (cached) return cached;
  let compiled: RegExp;
  try {
    compiled = new RegExp(source, 'i');
  } catch (error) {
    throw new InvalidArgumentError({
      argument,
      value: source,
      message: `is not a valid regular expression (${(error as Error).message})`,
      cause: error,
    });
  }
  if (compiledPatterns.size > 4096) compiledPatterns.clear();
  compiledPatterns.set(source, compiled);
  return compiled;
}

/**
 * Compiles every `pattern` of a scenario's criteria, throwing an
 * {@link InvalidArgumentError} naming `scenario.successCriteria[i].pattern` when
 * one is not a valid regular expression. Called by the environment at `reset`.
 */
export function assertValidCriteriaPatterns(scenario: Scenario): void {
  scenario.successCriteria.forEach((criterion, index) => {
    if (criterion.pattern !== undefined) {
      compilePattern(criterion.pattern, `scenario.successCriteria[${index}].pattern`);
    }
  });
}

/**
 * Whether `text` (already lower-cased) satisfies one criterion. All the checks
 * the criterion gives must hold: `anyOf` (one phrase present), `allOf` (every
 * phrase present) and `pattern` (regex, case-insensitive).
 */
export function criterionMet(criterion: SuccessCriterion, lowerText: string, index = 0): boolean {
  if (
    criterion.anyOf &&
    !criterion.anyOf.some((phrase) => lowerText.includes(phrase.toLowerCase()))
  ) {
    return false;
  }
  if (
    criterion.allOf &&
    !criterion.allOf.every((phrase) => lowerText.includes(phrase.toLowerCase()))
  ) {
    return false;
  }
  if (criterion.pattern !== undefined) {
    const pattern = compilePattern(criterion.pattern, `scenario.successCriteria[${index}].pattern`);
    if (!pattern.test(lowerText)) return false;
  }
  return true;
}

/**
 * Checks a scenario's success criteria against everything the agent has said.
 *
 * The agent's messages are joined with newlines and lower-cased; a phrase
 * matches as a case-insensitive substring (so `refund` also matches
 * `refunded`), a pattern as a case-insensitive regular expression. A criterion
 * that gives several of `anyOf`, `allOf` and `pattern` needs all of them. A
 * criterion once met stays met, since earlier messages stay in the text.
 *
 * completion = sum_i w_i [criterion i met] / sum_i w_i
 *
 * @example
 * ```ts
 * const result = evaluateSuccessCriteria(scenario, ['I have issued a refund for order A1042.']);
 * result.metIds;      // ['offer-refund', 'reference-order']
 * result.completion;  // 0.75 when those weigh 3 of 4
 * ```
 */
export function evaluateSuccessCriteria(
  scenario: Pick<Scenario, 'successCriteria'>,
  agentMessages: readonly string[],
): SuccessCriteriaResult {
  if (!Array.isArray(scenario?.successCriteria) || scenario.successCriteria.length === 0) {
    throw new InvalidArgumentError({
      argument: 'scenario.successCriteria',
      value: scenario?.successCriteria,
      message: 'must be a non-empty array of success criteria',
    });
  }
  const lowerText = agentMessages.join('\n').toLowerCase();
  const criteria: CriterionResult[] = scenario.successCriteria.map((criterion, index) => ({
    id: criterion.id,
    met: criterionMet(criterion, lowerText, index),
    weight: criterion.weight ?? 1,
  }));
  let totalWeight = 0;
  let metWeight = 0;
  for (const criterion of criteria) {
    totalWeight += criterion.weight;
    if (criterion.met) metWeight += criterion.weight;
  }
  const metIds = criteria.filter((criterion) => criterion.met).map((criterion) => criterion.id);
  const unmetIds = criteria.filter((criterion) => !criterion.met).map((criterion) => criterion.id);
  return {
    criteria,
    metIds,
    unmetIds,
    completion: totalWeight > 0 ? metWeight / totalWeight : 0,
    allMet: unmetIds.length === 0,
  };
}

/** The contents of the assistant messages of a conversation, in order. */
export function agentMessagesOf(messages: readonly { role: string; content: string }[]): string[] {
  return messages
    .filter((message) => message.role === 'assistant')
    .map((message) => message.content);
}
