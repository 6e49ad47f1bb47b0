import type { Message } from '@cohort/core';
import { type CausalLanguageModel, tokenLogProbs } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';

/** What a chat tokenizer must offer to locate copied spans. */
export interface CopyTokenizer {
  applyChatTemplate(
    messages: readonly Message[],
    options?: { addGenerationPrompt?: boolean },
  ): number[];
  decode(tokenIds: readonly number[]): string;
}

/** A dialogue's token ids and the positions of the tokens its agent copies. */
export interface CopyTargets {
  tokenIds: number[];
  /** Positions of the tokens that write the digits of order ids (`A1234`) in the agent's turns. */
  orderIdDigits: number[];
  /** How many digits those tokens write (4 per id): one token per digit, or fewer with digit pairs. */
  orderIdDigitCount: number;
  /** Positions of the tokens of an email's local part (the customer's name and number) in the agent's turns. */
  emailTokens: number[];
}

const orderIdPattern = /\bA(\d{4})\b/g;
const emailPattern = /([\w.+-]+)@[\w-]+(?:\.[\w-]+)+/g;

/** Character spans `[start, end)` of `group` 1 of every match of `pattern`. */
function groupSpans(text: string, pattern: RegExp): [number, number][] {
  return [...text.matchAll(pattern)].map((match) => {
    const start = match.index + match[0].indexOf(match[1]!);
    return [start, start + match[1]!.length];
  });
}

/**
 * The copy targets of one dialogue: in each assistant message, the tokens
 * that write an order id's digits and an email's local part, which the agent
 * can only get right by copying them from the customer's words or a tool
 * result (they are random per task). Each token of the message is mapped to
 * its characters by decoding the message's tokens one by one (byte-level BPE
 * decodes ASCII text piecewise exactly); a token counts when its characters
 * overlap a span.
 *
 * @example
 * ```ts
 * const { orderIdDigits } = copyTargets(dialogue, tokenizer); // 4 positions per id the agent writes
 * ```
 */
export function copyTargets(messages: readonly Message[], tokenizer: CopyTokenizer): CopyTargets {
  const tokenIds = tokenizer.applyChatTemplate(messages);
  const orderIdDigits: number[] = [];
  let orderIdDigitCount = 0;
  const emailTokens: number[] = [];
  messages.forEach((message, index) => {
    if (message.role !== 'assistant') return;
    const start = tokenizer.applyChatTemplate(messages.slice(0, index), {
      addGenerationPrompt: true,
    }).length;
    const digitSpans = groupSpans(message.content, orderIdPattern);
    for (const [from, to] of digitSpans) orderIdDigitCount += to - from;
    const emailSpans = groupSpans(message.content, emailPattern);
    let offset = 0;
    for (let position = start; position < tokenIds.length; position++) {
      if (offset >= message.content.length) break;
      const end = offset + tokenizer.decode([tokenIds[position]!]).length;
      const overlaps = (spans: [number, number][]) =>
        spans.some(([from, to]) => offset < to && end > from);
      if (overlaps(digitSpans)) orderIdDigits.push(position);
      if (overlaps(emailSpans)) emailTokens.push(position);
      offset = end;
    }
  });
  return { tokenIds, orderIdDigits, orderIdDigitCount, emailTokens };
}

/** Mean nats of the copied tokens, from {@link copyNats}. */
export interface CopyNats {
  /** Mean `-log p` per order-id digit in the agent's turns (the tokens' nats over the digits they write); chance among ten digits is `ln 10 = 2.30`. */
  orderIdDigit: number;
  /** Mean `-log p` of an email local-part token in the agent's turns. */
  emailToken: number;
  /** Order-id digits counted (not tokens: a digit-pair token writes two). */
  orderIdDigits: number;
  emailTokens: number;
}

/**
 * Teacher-forced log-probs of `sequences`, `batchSize` at a time without
 * gradients: `visit(index, row)` gets each sequence's `log p(x_t | x_<t)` per
 * position (0 at the first, padding past its end).
 */
export function forEachLogProbRow(
  model: CausalLanguageModel,
  sequences: readonly (readonly number[])[],
  options: { padTokenId: number; batchSize?: number },
  visit: (index: number, row: readonly number[]) => void,
): void {
  const batchSize = options.batchSize ?? 4;
  for (let from = 0; from < sequences.length; from += batchSize) {
    const batch = sequences.slice(from, from + batchSize);
    const rows = tf.tidy(
      () =>
        tokenLogProbs(model, {
          sequences: batch.map((sequence) => [...sequence]),
          padTokenId: options.padTokenId,
        }).logProbs.arraySync() as number[][],
    );
    rows.forEach((row, offset) => {
      visit(from + offset, row);
    });
  }
}

/**
 * How well a model copies, teacher-forced: the mean negative log-likelihood
 * `-1/|S| sum_{t in S} log p(x_t | x_<t)` over the order-id digits and the
 * email tokens `S` of {@link copyTargets}. A model that has not learned to copy
 * pays about `ln 10 = 2.30` nats per digit (chance among ten); one that copies
 * pays near 0. It shows whether copying has emerged long before greedy
 * episodes succeed. Sequences go `batchSize` at a time; no gradients.
 *
 * @example
 * ```ts
 * const nats = copyNats(model, heldOut.map((dialogue) => copyTargets(dialogue, tokenizer)), { padTokenId });
 * nats.orderIdDigit < Math.log(10); // once copying emerged
 * ```
 */
export function copyNats(
  model: CausalLanguageModel,
  targets: readonly CopyTargets[],
  options: { padTokenId: number; batchSize?: number },
): CopyNats {
  const sums = { digit: 0, email: 0, digits: 0, emails: 0 };
  const sequences = targets.map((target) => target.tokenIds);
  forEachLogProbRow(model, sequences, options, (index, row) => {
    const target = targets[index]!;
    for (const position of target.orderIdDigits) sums.digit -= row[position]!;
    for (const position of target.emailTokens) sums.email -= row[position]!;
    sums.digits += target.orderIdDigitCount;
    sums.emails += target.emailTokens.length;
  });
  return {
    orderIdDigit: sums.digits > 0 ? sums.digit / sums.digits : Number.NaN,
    emailToken: sums.emails > 0 ? sums.email / sums.emails : Number.NaN,
    orderIdDigits: sums.digits,
    emailTokens: sums.emails,
  };
}
