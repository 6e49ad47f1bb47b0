import { NonFiniteError, type RewardContext } from '@cohort/core';
import { z } from 'zod';

/**
 * What a text reward reads: the scored agent turn (`completion`, default) or
 * every agent message of the conversation joined by newlines (`agent-messages`).
 */
export const RewardTargetSchema = z.enum(['completion', 'agent-messages']).default('completion');

export type RewardTarget = z.output<typeof RewardTargetSchema>;

/**
 * The agent's messages of a reward context, in order. The scored completion is
 * appended when the conversation does not already end with it, so callers may
 * pass the messages before or after the turn was added.
 */
export function agentTextsOf(context: RewardContext<unknown>): string[] {
  const texts = context.messages
    .filter((message) => message.role === 'assistant')
    .map((message) => message.content);
  if (texts[texts.length - 1] !== context.completion) texts.push(context.completion);
  return texts;
}

/** The text a reward with this target reads. */
export function rewardText(context: RewardContext<unknown>, target: RewardTarget): string {
  return target === 'completion' ? context.completion : agentTextsOf(context).join('\n');
}

/** Returns `value` when finite; throws a {@link NonFiniteError} naming the reward otherwise. */
export function finiteScore(name: string, value: number, what = 'score'): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new NonFiniteError({
      quantity: `${name} ${what}`,
      value: Number(value),
      context: `reward ${name}`,
    });
  }
  return value;
}

/** A zod check for a function-valued option. */
export function functionSchema<FunctionType>(description: string) {
  return z.custom<FunctionType>((value) => typeof value === 'function', {
    message: `must be a function: ${description}`,
  });
}
