import type { Message } from '@cohort/core';

const copiedPattern = /\bA\d{4}\b|[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;

/**
 * Short copy lessons cut from supervised dialogues: for every agent turn that
 * writes an order id or an email, the pair [the latest earlier message that
 * holds it (the customer's words or a tool result), that agent turn]. The
 * pair is a real piece of the dialogue at a tenth of its length, so a small
 * model meets many more copies per token of compute; copying is learned on
 * such short repeats first and then carries over to long contexts, as
 * induction heads form early on repeated text (Olsson et al. 2022, "In-context
 * Learning and Induction Heads"). A turn whose strings appear nowhere earlier
 * (an invented id) gives no fragment.
 *
 * @example
 * ```ts
 * copyFragments([[system, user, agentCall, toolResult, agentReply]]); // [[user, agentCall], [toolResult, agentReply]]
 * ```
 */
export function copyFragments(dialogues: readonly (readonly Message[])[]): Message[][] {
  const fragments: Message[][] = [];
  for (const dialogue of dialogues) {
    dialogue.forEach((message, index) => {
      if (message.role !== 'assistant') return;
      const copied = message.content.match(copiedPattern) ?? [];
      if (copied.length === 0) return;
      for (let earlier = index - 1; earlier > 0; earlier--) {
        const source = dialogue[earlier]!;
        if (source.role === 'system' || source.role === 'assistant') continue;
        if (!copied.every((text) => source.content.includes(text))) continue;
        fragments.push([{ ...source }, { ...message }]);
        return;
      }
    });
  }
  return fragments;
}
