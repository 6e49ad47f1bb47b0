/**
 * Whether a model reads the order number, measured without sampling: for each
 * customer, the teacher-forced log-probability of each of the four possible
 * `track_order` calls after the prompt the gateway renders, normalised over
 * the four. 0.25 is the marginal (no reading at all); 1 is perfect copying.
 */
import { InvalidArgumentError, type Message } from '@cohort/core';
import { formatToolCalls } from '@cohort/environments';
import { type GptPolicy, tokenLogProbs } from '@cohort/tfjs';
import { customerMessage, type OrderScenario, orderIds, renderedSystemMessage } from './order-desk';

/** What {@link statedProbability} measured over a set of customers. */
export interface StatedProbability {
  /** Mean over customers of `P(stated | one of the four calls)`. */
  mean: number;
  /** Fraction of customers whose most likely call of the four is the stated number. */
  argmaxStated: number;
  /** Per customer, the probability of each call in `orderIds` order. */
  perScenario: number[][];
}

/** The prompt of the first call and the tokens of the call `track_order(calledId)`, end of turn included. */
export function callTokens(
  policy: GptPolicy,
  scenario: OrderScenario,
  calledId: string,
): { prompt: number[]; completion: number[] } {
  const opening: Message[] = [
    { role: 'system', content: renderedSystemMessage() },
    { role: 'user', content: customerMessage(scenario) },
  ];
  const prompt = policy.tokenizer.applyChatTemplate(opening, { addGenerationPrompt: true });
  const content = formatToolCalls(
    [{ name: 'track_order', arguments: { order_id: calledId } }],
    'hermes',
  );
  const full = policy.tokenizer.applyChatTemplate([...opening, { role: 'assistant', content }], {
    addGenerationPrompt: false,
  });
  if (full.length <= prompt.length || prompt.some((id, index) => full[index] !== id)) {
    throw new InvalidArgumentError({
      argument: 'policy.tokenizer',
      value: scenario.id,
      message: 'its chat template does not render the prompt as a prefix of the conversation',
    });
  }
  return { prompt, completion: full.slice(prompt.length) };
}

/**
 * `P(stated) = exp(l_s) / sum_k exp(l_k)` where `l_k = sum_t log p(c_{k,t} | prompt, c_{k,<t})`
 * is the teacher-forced log-probability of call `k` (computed stably, the maximum subtracted).
 */
export async function statedProbability(
  policy: GptPolicy,
  scenarios: readonly OrderScenario[],
): Promise<StatedProbability> {
  if (scenarios.length === 0) {
    throw new InvalidArgumentError({
      argument: 'scenarios',
      value: scenarios,
      message: 'must hold at least one customer',
    });
  }
  const pieces = scenarios.flatMap((scenario) =>
    orderIds.map((calledId) => callTokens(policy, scenario, calledId)),
  );
  const output = tokenLogProbs(policy.model, {
    sequences: pieces.map(({ prompt, completion }) => [...prompt, ...completion]),
    padTokenId: policy.tokenizer.padTokenId,
  });
  const rows = (await output.logProbs.array()) as number[][];
  output.logProbs.dispose();
  output.mask.dispose();
  const callLogProbs = pieces.map(({ prompt, completion }, index) =>
    rows[index]!.slice(prompt.length, prompt.length + completion.length).reduce((a, b) => a + b, 0),
  );
  const perScenario = scenarios.map((_, s) => {
    const logits = callLogProbs.slice(s * orderIds.length, (s + 1) * orderIds.length);
    const top = Math.max(...logits);
    const weights = logits.map((value) => Math.exp(value - top));
    const total = weights.reduce((a, b) => a + b, 0);
    return weights.map((weight) => weight / total);
  });
  const statedIndex = scenarios.map((scenario) =>
    orderIds.indexOf(scenario.orderId as (typeof orderIds)[number]),
  );
  const mean =
    perScenario.reduce((sum, probabilities, s) => sum + probabilities[statedIndex[s]!]!, 0) /
    scenarios.length;
  const argmaxStated =
    perScenario.filter(
      (probabilities, s) => probabilities.indexOf(Math.max(...probabilities)) === statedIndex[s],
    ).length / scenarios.length;
  return { mean, argmaxStated, perScenario };
}
