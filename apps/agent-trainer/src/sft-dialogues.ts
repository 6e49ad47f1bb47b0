import { type Message, Random } from '@cohort/core';

/** Vague replies that acknowledge the customer and resolve nothing. */
export const vagueReplies = [
  'I understand your concern. Could you give me more details?',
  'Thanks for your patience, I am looking into it.',
  'Sorry to hear that. Let me check on this for you.',
  'I see. Is there anything else you can tell me about the problem?',
] as const;

/** How mediocre the degraded dialogues are. */
export interface DegradeOptions {
  seed: number;
  /** Fraction of dialogues that get mediocre agent turns (default 0.5). */
  dialogueFraction?: number;
  /** In a degraded dialogue, the chance that each agent turn is degraded (default 0.5). */
  turnFraction?: number;
}

function sentencesOf(text: string): string[] {
  return text.match(/[^.!?]+[.!?]+(\s+|$)/g)?.map((sentence) => sentence.trim()) ?? [text];
}

/**
 * Degrades one agent reply deterministically: a vague reply in place of the
 * answer, or the answer with one of its later sentences dropped (so a
 * success criterion goes unmet), or without its greeting.
 */
export function degradeReply(
  reply: string,
  random: Random,
): { text: string; kind: 'vague' | 'drop-sentence' } {
  const sentences = sentencesOf(reply);
  if (sentences.length >= 2 && random.bernoulli(0.6)) {
    const dropped = random.int(1, sentences.length);
    return {
      text: sentences.filter((_, index) => index !== dropped).join(' '),
      kind: 'drop-sentence',
    };
  }
  return { text: random.choice(vagueReplies), kind: 'vague' };
}

/**
 * Mixes good and mediocre agent behavior into supervised dialogues: a
 * `dialogueFraction` of the dialogues (chosen with the seed) have each agent
 * turn replaced, with probability `turnFraction`, by {@link degradeReply}.
 * A model trained on the mix is a plausible but imperfect agent that RL can
 * improve. System and user turns are kept. Deterministic for a seed; the
 * input is not modified.
 *
 * @example
 * ```ts
 * const mixed = degradeDialogues(await generateDialogues({ scenarios, seed: 1, count: 200 }), { seed: 1 });
 * ```
 */
export function degradeDialogues(
  dialogues: readonly (readonly Message[])[],
  options: DegradeOptions,
): {
  dialogues: Message[][];
  degradedDialogues: number;
  degradedTurns: number;
} {
  const dialogueFraction = options.dialogueFraction ?? 0.5;
  const turnFraction = options.turnFraction ?? 0.5;
  const random = new Random(options.seed).fork('degrade');
  let degradedDialogues = 0;
  let degradedTurns = 0;
  const result = dialogues.map((dialogue, index) => {
    const dialogueRandom = random.fork(index);
    const messages = dialogue.map((message) => ({ ...message }));
    if (!dialogueRandom.bernoulli(dialogueFraction)) return messages;
    let changed = false;
    for (const message of messages) {
      if (message.role !== 'assistant' || !dialogueRandom.bernoulli(turnFraction)) continue;
      message.content = degradeReply(message.content, dialogueRandom).text;
      degradedTurns++;
      changed = true;
    }
    if (changed) degradedDialogues++;
    return messages;
  });
  return { dialogues: result, degradedDialogues, degradedTurns };
}

/**
 * Token ids of a dialogue and a loss mask that is 1 exactly on the agent's
 * tokens: each assistant message's content and its end-of-turn token (what
 * the model must produce after `<|im_start|>assistant\n`), 0 on system and
 * user turns and on the template's headers. Uses the chat template's prefix
 * property (a conversation's ids start with the ids of any shorter prefix).
 */
export function assistantLossMask(
  messages: readonly Message[],
  tokenizer: {
    applyChatTemplate(
      messages: readonly Message[],
      options?: { addGenerationPrompt?: boolean },
    ): number[];
    endOfTurnTokenId?: number;
  },
): { tokenIds: number[]; lossMask: number[] } {
  const tokenIds = tokenizer.applyChatTemplate(messages);
  const lossMask = new Array<number>(tokenIds.length).fill(0);
  messages.forEach((message, index) => {
    if (message.role !== 'assistant') return;
    const start = tokenizer.applyChatTemplate(messages.slice(0, index), {
      addGenerationPrompt: true,
    }).length;
    const end = tokenizer.applyChatTemplate(messages.slice(0, index + 1)).length;
    let last = end - 1;
    if (tokenizer.endOfTurnTokenId !== undefined) {
      while (last >= start && tokenIds[last] !== tokenizer.endOfTurnTokenId) last--;
      if (last < start) last = end - 1;
    }
    for (let position = start; position <= last; position++) lossMask[position] = 1;
  });
  return { tokenIds, lossMask };
}

/**
 * The loss mask of one dialogue for `lossOn`: the agent's tokens
 * (`assistantMask`, from {@link assistantLossMask}), or every token after the
 * first (the first has no prediction), as in pre-training.
 *
 * @example
 * ```ts
 * lossMaskOn('all', [5, 6, 7], [0, 0, 1]); // [0, 1, 1]
 * ```
 */
export function lossMaskOn(
  lossOn: 'assistant' | 'all',
  tokenIds: readonly number[],
  assistantMask: readonly number[],
): number[] {
  return lossOn === 'all'
    ? tokenIds.map((_, position) => (position === 0 ? 0 : 1))
    : [...assistantMask];
}
