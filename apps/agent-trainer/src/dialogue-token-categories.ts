import type { Message } from '@cohort/core';
import { supportDeskActionTools } from '@cohort/environments';
import type { CausalLanguageModel } from '@cohort/tfjs';
import { type CopyTokenizer, forEachLogProbRow } from './copy-metric';

/**
 * What a token of a tool-agent dialogue belongs to. The agent's decisions are
 * `turnStart.*` (the first token of each agent message: `<` opens a call,
 * anything else is a text reply, the `none` of a tool choice) and
 * `toolName.*` (the tokens that write the called tool's name; `action` is
 * refund, cancel, exchange or escalate). What it copies or writes is
 * `argument.*` and `reply.*` (`final`: the last agent message, the facts the
 * customer must be told). `callSyntax` is the rest of a call (tags, keys,
 * braces), `turnEnd` the template's tokens that close an agent message, and
 * `context` everything the agent does not write (system, user, tool results,
 * the template's headers).
 */
export const dialogueTokenCategoryNames = [
  'turnStart.call',
  'turnStart.text',
  'toolName.find_customer',
  'toolName.get_order',
  'toolName.action',
  'argument.email',
  'argument.orderId',
  'argument.other',
  'callSyntax',
  'reply.final',
  'reply.other',
  'turnEnd',
  'context',
] as const;

/** One of {@link dialogueTokenCategoryNames}. */
export type DialogueTokenCategory = (typeof dialogueTokenCategoryNames)[number];

/** A dialogue's token ids and the category of every position. */
export interface CategorizedDialogue {
  tokenIds: number[];
  /** `categoryPerToken[t]` is what token `t` belongs to. */
  categoryPerToken: DialogueTokenCategory[];
  /**
   * Positions of the agent's decisions after a read: in each agent message
   * that directly follows a tool result, the tokens of the called tool's name
   * (`toolName.*`), or the first token when the message is a text reply
   * (`turnStart.text`).
   */
  decisionsAfterRead: number[];
}

const toolCallPattern = /<tool_call>\s*(\{[\s\S]*\})\s*<\/tool_call>/;

/** Character spans `[start, end)` and categories of the parts of one agent message. */
function messageSpans(content: string): {
  spans: { from: number; to: number; category: DialogueTokenCategory }[];
  isCall: boolean;
} {
  const match = toolCallPattern.exec(content);
  // A call the model left unclosed is still a call: only its parts cannot be named.
  if (!match) return { spans: [], isCall: content.includes('<tool_call>') };
  let call: { name?: unknown; arguments?: Record<string, unknown> };
  try {
    call = JSON.parse(match[1]!);
  } catch {
    // A malformed call has no parts to name: its tokens count as call syntax.
    return { spans: [], isCall: true };
  }
  const spans: { from: number; to: number; category: DialogueTokenCategory }[] = [];
  const jsonStart = match.index + match[0].indexOf(match[1]!);
  const json = match[1]!;
  if (typeof call.name === 'string') {
    const key = `"name":${JSON.stringify(call.name)}`;
    const at = json.indexOf(key);
    if (at >= 0) {
      const from = jsonStart + at + '"name":"'.length;
      const category: DialogueTokenCategory =
        call.name === 'find_customer' || call.name === 'get_order'
          ? `toolName.${call.name}`
          : supportDeskActionTools.has(call.name)
            ? 'toolName.action'
            : 'callSyntax';
      spans.push({ from, to: from + call.name.length, category });
    }
  }
  const argumentsAt = json.indexOf('"arguments":');
  for (const [key, value] of Object.entries(call.arguments ?? {})) {
    const written = JSON.stringify(value);
    const at = json.indexOf(`${JSON.stringify(key)}:${written}`, Math.max(argumentsAt, 0));
    if (at < 0) continue;
    const valueStart = jsonStart + at + JSON.stringify(key).length + 1;
    // A string's characters without its quotes; a number or other value as written.
    const quoted = typeof value === 'string';
    const from = quoted ? valueStart + 1 : valueStart;
    const to = quoted ? valueStart + written.length - 1 : valueStart + written.length;
    const category: DialogueTokenCategory =
      key === 'email'
        ? 'argument.email'
        : key === 'order_id'
          ? 'argument.orderId'
          : 'argument.other';
    spans.push({ from, to, category });
  }
  return { spans, isCall: true };
}

/**
 * The category of every token of `messages` as the chat template renders
 * them ({@link DialogueTokenCategory}). Each agent message's tokens are mapped
 * to its characters by decoding them one by one (byte-level BPE decodes
 * ASCII text piecewise exactly); a token takes the category of the first
 * span its characters overlap, so a token that writes both a quote and a
 * name's first letter counts as the name.
 *
 * @example
 * ```ts
 * const { categoryPerToken } = dialogueTokenCategories(dialogue, tokenizer);
 * categoryPerToken.filter((category) => category === 'turnStart.call').length; // the agent's tool calls
 * ```
 */
export function dialogueTokenCategories(
  messages: readonly Message[],
  tokenizer: CopyTokenizer,
): CategorizedDialogue {
  const tokenIds = tokenizer.applyChatTemplate(messages);
  const categoryPerToken = new Array<DialogueTokenCategory>(tokenIds.length).fill('context');
  const decisionsAfterRead: number[] = [];
  const lastAssistant = messages.map((message) => message.role).lastIndexOf('assistant');
  messages.forEach((message, index) => {
    if (message.role !== 'assistant') return;
    const start = tokenizer.applyChatTemplate(messages.slice(0, index), {
      addGenerationPrompt: true,
    }).length;
    const end = tokenizer.applyChatTemplate(messages.slice(0, index + 1), {
      addGenerationPrompt: false,
    }).length;
    const { spans, isCall } = messageSpans(message.content);
    const rest: DialogueTokenCategory = isCall
      ? 'callSyntax'
      : index === lastAssistant
        ? 'reply.final'
        : 'reply.other';
    let offset = 0;
    let position = start;
    for (; position < end && offset < message.content.length; position++) {
      const to = offset + tokenizer.decode([tokenIds[position]!]).length;
      const span = spans.find((candidate) => offset < candidate.to && to > candidate.from);
      categoryPerToken[position] =
        position === start
          ? isCall
            ? 'turnStart.call'
            : 'turnStart.text'
          : (span?.category ?? rest);
      const category = categoryPerToken[position]!;
      if (
        messages[index - 1]?.role === 'tool' &&
        (category.startsWith('toolName.') || category === 'turnStart.text')
      )
        decisionsAfterRead.push(position);
      offset = to;
    }
    // The end-of-message token and the newline after it: where the agent stops.
    for (; position < end; position++) categoryPerToken[position] = 'turnEnd';
  });
  return { tokenIds, categoryPerToken, decisionsAfterRead };
}

/**
 * `lossMask` with the weight of every decision after a read
 * ({@link CategorizedDialogue.decisionsAfterRead}) multiplied by `weight`,
 * for the loss's weighted mean `-sum_t m_t log p(x_t) / sum_t m_t`.
 *
 * @example
 * ```ts
 * const weighted = weightDecisionsAfterRead(lossMask, dialogueTokenCategories(dialogue, tokenizer), 20);
 * ```
 */
export function weightDecisionsAfterRead(
  lossMask: readonly number[],
  dialogue: CategorizedDialogue,
  weight: number,
): number[] {
  const weighted = [...lossMask];
  for (const position of dialogue.decisionsAfterRead)
    if (position < weighted.length) weighted[position] = weighted[position]! * weight;
  return weighted;
}

/** Teacher-forced nats of one category, from {@link dialogueTokenCategoryNats}. */
export interface CategoryNats {
  /** Mean `-log p(x_t | x_<t)` over the category's tokens (NaN when it has none). */
  meanNats: number;
  tokens: number;
  /** Summed nats over the category's tokens. */
  totalNats: number;
}

/**
 * Where a model's loss is, teacher-forced: for each
 * {@link DialogueTokenCategory}, the mean negative log-likelihood
 * `-1/|S_c| sum_{t in S_c} log p(x_t | x_<t)` over the tokens `S_c` of that
 * category in `dialogues`. Position 0 has no prediction and is left out.
 * Sequences go `batchSize` at a time; no gradients.
 *
 * @example
 * ```ts
 * const nats = dialogueTokenCategoryNats(model, dialogues.map((d) => dialogueTokenCategories(d, tokenizer)), { padTokenId });
 * nats['toolName.action'].meanNats; // what choosing the action costs
 * ```
 */
export function dialogueTokenCategoryNats(
  model: CausalLanguageModel,
  dialogues: readonly CategorizedDialogue[],
  options: { padTokenId: number; batchSize?: number },
): Record<DialogueTokenCategory, CategoryNats> {
  const sums = Object.fromEntries(
    dialogueTokenCategoryNames.map((name) => [name, { total: 0, tokens: 0 }]),
  ) as Record<DialogueTokenCategory, { total: number; tokens: number }>;
  const sequences = dialogues.map((dialogue) => dialogue.tokenIds);
  forEachLogProbRow(model, sequences, options, (index, row) => {
    const dialogue = dialogues[index]!;
    for (let position = 1; position < dialogue.tokenIds.length; position++) {
      const sum = sums[dialogue.categoryPerToken[position]!];
      sum.total -= row[position]!;
      sum.tokens++;
    }
  });
  return Object.fromEntries(
    dialogueTokenCategoryNames.map((name) => {
      const { total, tokens } = sums[name];
      return [
        name,
        { meanNats: tokens > 0 ? total / tokens : Number.NaN, tokens, totalNats: total },
      ];
    }),
  ) as Record<DialogueTokenCategory, CategoryNats>;
}

/**
 * A table of {@link dialogueTokenCategoryNats}, one line per category that
 * has tokens: mean nats per token, tokens, and share of the summed nats.
 *
 * @example
 * ```ts
 * log(formatCategoryNats(nats));
 * ```
 */
export function formatCategoryNats(nats: Record<DialogueTokenCategory, CategoryNats>): string {
  const total = dialogueTokenCategoryNames.reduce((sum, name) => sum + nats[name].totalNats, 0);
  return dialogueTokenCategoryNames
    .filter((name) => nats[name].tokens > 0)
    .map(
      (name) =>
        `${name.padEnd(24)} ${nats[name].meanNats.toFixed(3).padStart(7)} nats/token ${String(nats[name].tokens).padStart(6)} tokens ${((100 * nats[name].totalNats) / total).toFixed(1).padStart(5)}% of nats`,
    )
    .join('\n');
}
