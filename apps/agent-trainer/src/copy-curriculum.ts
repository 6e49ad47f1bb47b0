import type { Random } from '@cohort/core';

/** What {@link copyCurriculumExample} needs of a tokenizer. */
export interface CopyCurriculumTokenizer {
  encode(text: string): number[];
}

/** One way an order id is stated (`source`) and one way it is written back (`target`), as in the support desk's dialogues. */
const sources = [' The order number is A', '{"order_id":"A', ' order A', '"order_id":"A'] as const;
const targets = [
  '{"name":"get_order","arguments":{"order_id":"A',
  '{"order_id":"A',
  ' order A',
] as const;

/**
 * The token pieces of the copy curriculum, encoded once: the digits `0`-`9`
 * (one token each with `individualDigits`), and the text before an order id
 * where it is stated and where it is written back.
 */
export interface CopyCurriculumPieces {
  digits: number[];
  sources: number[][];
  targets: number[][];
}

/** Encodes the pieces of {@link copyCurriculumExample} with `tokenizer`. */
export function copyCurriculumPieces(tokenizer: CopyCurriculumTokenizer): CopyCurriculumPieces {
  const digits = Array.from({ length: 10 }, (_, digit) => tokenizer.encode(String(digit))[0]!);
  // The ids are spliced in digit by digit: that is only what the tokenizer writes if digits never merge.
  const together = tokenizer.encode('0123456789');
  if (together.length !== 10 || together.some((id, digit) => id !== digits[digit]))
    throw new Error(
      `copy curriculum: the tokenizer writes "0123456789" as ${together.length} tokens, not one per digit; train it with individualDigits`,
    );
  return {
    digits,
    sources: sources.map((text) => tokenizer.encode(text)),
    targets: targets.map((text) => tokenizer.encode(text)),
  };
}

/**
 * A random window of `length` (or fewer) tokens of one of `texts`, without
 * its digits: a window holding another order id would make the copy
 * ambiguous, and the curriculum teaches copying, not choosing.
 */
function window(
  texts: readonly (readonly number[])[],
  length: number,
  digits: ReadonlySet<number>,
  random: Random,
): number[] {
  const text = random.choice(texts);
  const start = random.int(0, Math.max(1, text.length - length));
  return text.slice(start, start + length).filter((token) => !digits.has(token));
}

/**
 * One sequence of the copy curriculum: a window of a real dialogue (0-60
 * tokens), an order id stated as the dialogues state it, another window
 * (2-80 tokens), and the id written back as the agent writes it, with the
 * loss on the four copied digits only (the windows lose their digits). The id is fresh for every sequence
 * and its position varies, so the only way to lower the loss is to find the
 * stated id and copy it: an induction head (Olsson et al. 2022, "In-context
 * Learning and Induction Heads"), which then serves every id, email and
 * amount of the dialogues. Synthetic copies with a random prefix and no
 * repeated example took the lead's probe from chance (2.30 nats per digit)
 * to 0.24 in 3000 steps, where repeated dialogues never left chance.
 *
 * @example
 * ```ts
 * const pieces = copyCurriculumPieces(tokenizer);
 * const { tokenIds, lossMask } = copyCurriculumExample(pieces, dialogueTokenIds, random);
 * ```
 */
export function copyCurriculumExample(
  pieces: CopyCurriculumPieces,
  texts: readonly (readonly number[])[],
  random: Random,
): { tokenIds: number[]; lossMask: number[] } {
  const id = Array.from({ length: 4 }, () => pieces.digits[random.int(0, 10)]!);
  const digits = new Set(pieces.digits);
  const tokenIds = [
    ...window(texts, random.int(0, 61), digits, random),
    ...random.choice(pieces.sources),
    ...id,
    ...window(texts, random.int(2, 81), digits, random),
    ...random.choice(pieces.targets),
  ];
  const lossMask = new Array<number>(tokenIds.length).fill(0);
  for (const digit of id) {
    tokenIds.push(digit);
    lossMask.push(1);
  }
  return { tokenIds, lossMask };
}
