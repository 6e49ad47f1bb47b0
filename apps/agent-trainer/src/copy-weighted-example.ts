import type { Message } from '@cohort/core';
import { type CopyTokenizer, copyTargets } from './copy-metric';
import { assistantLossMask, lossMaskOn } from './sft-dialogues';

/**
 * One supervised example of `dialogue`: its token ids and the loss weights of
 * `lossOn`, with the order-id tokens the agent writes weighted `weight`. The
 * loop's loss is the weighted mean `-sum_t m_t log p(x_t) / sum_t m_t`, so a
 * weight above 1 makes those tokens count for more: they are a few percent of
 * a dialogue's tokens, and each one decides whether the task can succeed.
 *
 * @example
 * ```ts
 * const { tokenIds, lossMask } = copyWeightedExample(dialogue, tokenizer, 'all', 5);
 * ```
 */
export function copyWeightedExample(
  dialogue: readonly Message[],
  tokenizer: CopyTokenizer,
  lossOn: 'assistant' | 'all',
  weight: number,
): { tokenIds: number[]; lossMask: number[] } {
  const { tokenIds, lossMask } = assistantLossMask(dialogue, tokenizer);
  const weighted = lossMaskOn(lossOn, tokenIds, lossMask);
  if (weight !== 1)
    for (const position of copyTargets(dialogue, tokenizer).orderIdDigits)
      weighted[position] = (weighted[position] as number) * weight;
  return { tokenIds, lossMask: weighted };
}
