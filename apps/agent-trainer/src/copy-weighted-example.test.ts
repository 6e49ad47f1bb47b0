import { generateSupportDeskDialogues, supportDeskTasks } from '@cohort/environments';
import { trainBpeTokenizer } from '@cohort/tfjs';
import { describe, expect, it } from 'vitest';
import { copyTargets } from './copy-metric';
import { copyWeightedExample } from './copy-weighted-example';
import { assistantLossMask, lossMaskOn } from './sft-dialogues';

describe('copyWeightedExample', () => {
  it("weighs exactly the agent's order-id tokens, and nothing else changes", async () => {
    const dialogues = await generateSupportDeskDialogues({
      tasks: supportDeskTasks({ split: 'eval', count: 3 }),
      seed: 4,
      toolPrompt: 'signatures',
    });
    const tokenizer = trainBpeTokenizer({
      texts: dialogues.flatMap((dialogue) => dialogue.map((message) => message.content)),
      vocabSize: 500,
      individualDigits: true,
      digitPairs: true,
    });
    for (const dialogue of dialogues) {
      const { orderIdDigits } = copyTargets(dialogue, tokenizer);
      expect(orderIdDigits.length).toBeGreaterThanOrEqual(4);
      for (const lossOn of ['assistant', 'all'] as const) {
        const plain = assistantLossMask(dialogue, tokenizer);
        const expected = lossMaskOn(lossOn, plain.tokenIds, plain.lossMask);
        const weighted = copyWeightedExample(dialogue, tokenizer, lossOn, 5);
        expect(weighted.tokenIds).toEqual(plain.tokenIds);
        expect(copyWeightedExample(dialogue, tokenizer, lossOn, 1).lossMask).toEqual(expected);
        const ids = new Set(orderIdDigits);
        weighted.lossMask.forEach((value, position) => {
          // The agent's id tokens are in the loss either way, so each weighs 5; every other token keeps its weight.
          expect(value, `position ${position}`).toBe(
            ids.has(position) ? 5 : (expected[position] as number),
          );
        });
      }
    }
  });
});
