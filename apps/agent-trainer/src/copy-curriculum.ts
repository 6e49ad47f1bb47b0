import type { Random } from '@cohort/core';
import { randomCustomerNames } from './sft-task-variants';

/** What {@link copyCurriculumExample} and {@link emailCopyExample} need of a tokenizer. */
export interface CopyCurriculumTokenizer {
  encode(text: string): number[];
  decode(tokenIds: readonly number[]): string;
}

/** One way an order id is stated (`source`) and one way it is written back (`target`), as in the support desk's dialogues. */
const sources = [' The order number is A', '{"order_id":"A', ' order A', '"order_id":"A'] as const;
const targets = [
  '{"name":"get_order","arguments":{"order_id":"A',
  '{"order_id":"A',
  ' order A',
] as const;

/**
 * The token pieces of the copy curriculum, encoded once: the tokens made of
 * digits only (`0`-`9` with `individualDigits`, and `00`-`99` too with
 * `digitPairs`), and the text before an order id where it is stated and where
 * it is written back.
 */
export interface CopyCurriculumPieces {
  digits: number[];
  /** The tokens of a 4-digit id written as the tokenizer writes it. */
  id: (digits: string) => number[];
  sources: number[][];
  targets: number[][];
  /** Tokens an order id's digits follow in the dialogues (each source's and target's last token, and `A` after a space, a quote or nothing). */
  idMarkers: number[];
  /**
   * The tokens of `before + span + after`, encoded as one text (so every
   * token is the one its context gives), and the positions of the tokens that
   * write `span`.
   */
  spanTokens: (before: string, span: string, after: string) => SpanTokens;
}

/** A text's tokens and the positions of the tokens that write one span of it. */
export interface SpanTokens {
  tokenIds: number[];
  spanPositions: number[];
}

/** Encodes the pieces of {@link copyCurriculumExample} with `tokenizer`. */
export function copyCurriculumPieces(tokenizer: CopyCurriculumTokenizer): CopyCurriculumPieces {
  const single = Array.from({ length: 10 }, (_, digit) => tokenizer.encode(String(digit)));
  const pairs = Array.from({ length: 100 }, (_, pair) =>
    tokenizer.encode(String(pair).padStart(2, '0')),
  );
  const digits = [...new Set([...single, ...pairs.filter((tokens) => tokens.length === 1)].flat())];
  // Ids are spliced in among window tokens: that is only what the tokenizer writes if digits merge with nothing but one other digit.
  const known = new Set(digits);
  if (
    single.some((tokens) => tokens.length !== 1) ||
    ['0123456789', '9876543210'].some((run) =>
      tokenizer.encode(run).some((token) => !known.has(token)),
    )
  )
    throw new Error(
      'copy curriculum: the tokenizer merges digits into longer tokens; train it with individualDigits (and optionally digitPairs)',
    );
  const encodedSources = sources.map((text) => tokenizer.encode(text));
  const encodedTargets = targets.map((text) => tokenizer.encode(text));
  const idMarkers = new Set<number>();
  for (const text of [...encodedSources, ...encodedTargets]) idMarkers.add(text.at(-1)!);
  for (const text of ['A', ' A', '"A']) idMarkers.add(tokenizer.encode(text).at(-1)!);
  return {
    digits,
    id: (text) => tokenizer.encode(text),
    sources: encodedSources,
    targets: encodedTargets,
    idMarkers: [...idMarkers],
    spanTokens: (before, span, after) => spanTokens(tokenizer, before, span, after),
  };
}

function spanTokens(
  tokenizer: CopyCurriculumTokenizer,
  before: string,
  span: string,
  after: string,
): SpanTokens {
  const text = `${before}${span}${after}`;
  const tokenIds = tokenizer.encode(text);
  const spanPositions: number[] = [];
  // Byte-level BPE decodes ASCII text token by token exactly, which maps each token to its characters.
  let offset = 0;
  tokenIds.forEach((token, position) => {
    const end = offset + tokenizer.decode([token]).length;
    if (offset < before.length + span.length && end > before.length) spanPositions.push(position);
    offset = end;
  });
  if (offset !== text.length)
    throw new Error(
      `copy curriculum: the tokens of ${JSON.stringify(text)} do not decode to it piece by piece`,
    );
  return { tokenIds, spanPositions };
}

/**
 * A random window of `length` (or fewer) tokens of one of `texts`, without
 * its digits: a window holding another order id would make the copy
 * ambiguous, and the curriculum teaches copying, not choosing.
 */
function window(
  texts: readonly (readonly number[])[],
  length: number,
  drop: (tokens: readonly number[]) => number[],
  random: Random,
): number[] {
  const text = random.choice(texts);
  const start = random.int(0, Math.max(1, text.length - length));
  return drop(text.slice(start, start + length));
}

/** The tokens without any digit. */
function withoutDigits(digits: ReadonlySet<number>): (tokens: readonly number[]) => number[] {
  return (tokens) => tokens.filter((token) => !digits.has(token));
}

/**
 * The tokens without the digits of order ids (a digit run right after an id
 * marker) and without the digits they start with, keeping every other number: prices, days, quantities and email
 * digits stay as the distractors the dialogues are full of.
 */
function withoutOrderIds(
  digits: ReadonlySet<number>,
  markers: ReadonlySet<number>,
): (tokens: readonly number[]) => number[] {
  return (tokens) => {
    const kept: number[] = [];
    // Digits the window starts with are dropped too: a number cut in half would run on from the stated id.
    let inId = true;
    for (const token of tokens) {
      if (markers.has(token)) inId = true;
      else if (!digits.has(token)) inId = false;
      if (!(inId && digits.has(token))) kept.push(token);
    }
    return kept;
  };
}

/**
 * What the copy curriculum's windows keep of the dialogue's numbers: `drop`
 * removes every digit (round 6: the copy is learned, but does not carry over
 * to dialogues full of other numbers); `keep` removes only other order ids, so
 * the copy is learned among distractors.
 */
export type CopyCurriculumNumbers = 'drop' | 'keep';

/**
 * One sequence of the induction warm-up: a window of `minLength`-`maxLength`
 * tokens of a real dialogue (numbers and all), the `marker` token, and the
 * same window again, with the loss on the repeat. Only attending back to
 * what followed the earlier occurrence predicts the repeat, which is the
 * induction head that copying needs (Olsson et al. 2022). The lead's probe
 * (2 layers, width 128, one fresh 4-digit id among 1-4-digit distractor
 * numbers): 1500 steps of the copy alone stayed at chance (9.21 nats per
 * id); 1500 steps of short repeats (4-12 tokens) and then copies mixed with
 * repeats of 4-60 tokens reached 0.52 nats per id 700 steps later.
 */
export function repeatExample(
  texts: readonly (readonly number[])[],
  marker: number,
  minLength: number,
  maxLength: number,
  random: Random,
): { tokenIds: number[]; lossMask: number[] } {
  const text = random.choice(texts);
  const length = Math.min(text.length, random.int(minLength, maxLength + 1));
  const start = random.int(0, text.length - length + 1);
  return repeated(text.slice(start, start + length), marker);
}

/** `marker`, `segment`, `marker`, `segment` again, with the loss on the repeat. */
function repeated(
  segment: readonly number[],
  marker: number,
): { tokenIds: number[]; lossMask: number[] } {
  const tokenIds = [marker, ...segment, marker, ...segment];
  const lossMask = tokenIds.map((_, index) => (index > segment.length + 1 ? 1 : 0));
  return { tokenIds, lossMask };
}

/**
 * One sequence of the random-token induction warm-up: `minLength`-`maxLength`
 * tokens drawn at random, half of them from `digits` (the tokens order ids
 * are made of) and half from the whole `vocabularySize`, the `marker`, and the
 * same tokens again, with the loss on the repeat. Random tokens cannot be
 * predicted from the text around them, so the only way to lower the loss is
 * to match the current token with its earlier occurrence and copy what
 * followed it (the induction head of Olsson et al. 2022), for every token and
 * for digit tokens in particular. Repeats of dialogue windows
 * ({@link repeatExample}) can be predicted from the dialogue's own patterns
 * instead, and the lead's probe found a model trained on them copying the
 * first token of an id after its marker (0.01 nats) but not the second
 * (1.50 nats): the general token match had not formed.
 */
export function randomRepeatExample(
  digits: readonly number[],
  vocabularySize: number,
  marker: number,
  minLength: number,
  maxLength: number,
  random: Random,
): { tokenIds: number[]; lossMask: number[] } {
  const length = random.int(minLength, maxLength + 1);
  const segment = Array.from({ length }, () =>
    random.bernoulli(0.5) ? random.choice(digits) : random.int(1, vocabularySize),
  );
  return repeated(segment, marker);
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
  numbers: CopyCurriculumNumbers = 'drop',
): { tokenIds: number[]; lossMask: number[] } {
  const id = pieces.id(Array.from({ length: 4 }, () => String(random.int(0, 10))).join(''));
  const digits = new Set(pieces.digits);
  const drop =
    numbers === 'drop' ? withoutDigits(digits) : withoutOrderIds(digits, new Set(pieces.idMarkers));
  const tokenIds = [
    ...window(texts, random.int(0, 61), drop, random),
    ...random.choice(pieces.sources),
    ...id,
    ...window(texts, random.int(2, 81), drop, random),
    ...random.choice(pieces.targets),
  ];
  const lossMask = new Array<number>(tokenIds.length).fill(0);
  for (const digit of id) {
    tokenIds.push(digit);
    lossMask.push(1);
  }
  return { tokenIds, lossMask };
}

/**
 * How the scripted customer states an email, in the dialogues: the whole
 * message (`support-desk-user.ts`), with or without an order number, as the
 * text before and after the email.
 */
function emailStatement(random: Random): [string, string] {
  const tail = random.choice([
    ' I do not have the order number.',
    ` The order number is A${Array.from({ length: 4 }, () => random.int(0, 10)).join('')}.`,
  ]);
  return ['My email is ', `.${tail}`];
}

/** How the agent writes an email back, in the dialogues: the reference agent's `find_customer` call, up to the email. */
const emailCallPrefix = '<tool_call>\n{"name":"find_customer","arguments":{"email":"';

/**
 * One email sequence of the copy curriculum: a window of a dialogue with no
 * email in it (0-60 tokens), a fresh random email (`first.last42@example.com`,
 * the shape of `withRandomCustomers`) stated as the scripted customer states
 * it (`My email is ....`), another window (2-80 tokens), and the agent's
 * `find_customer` call up to the email's local part, with the loss on the
 * tokens of the local part only. Both texts are encoded whole, so the email
 * is the tokens its context makes in the dialogues: byte-level BPE writes
 * ` yusuf` after the space of `My email is` and `yusuf` after the call's
 * quote as different tokens, and that translation is what the copy must
 * learn (round 9: held-out emails came back as `zuf.virtanen92` for
 * `yusuf.virtanen92`, 0.88 nats per email token). The windows must hold no
 * email, or the copy would have more than one source.
 *
 * @example
 * ```ts
 * const pieces = copyCurriculumPieces(tokenizer);
 * const { tokenIds, lossMask } = emailCopyExample(pieces, dialogueTokenIdsWithoutEmails, random, 'keep');
 * ```
 */
export function emailCopyExample(
  pieces: CopyCurriculumPieces,
  emailFreeTexts: readonly (readonly number[])[],
  random: Random,
  numbers: CopyCurriculumNumbers = 'drop',
): { tokenIds: number[]; lossMask: number[] } {
  const { email } = randomCustomerNames(random);
  const localPart = email.slice(0, email.indexOf('@'));
  const [before, after] = emailStatement(random);
  const source = pieces.spanTokens(before, email, after);
  const target = pieces.spanTokens(emailCallPrefix, localPart, email.slice(localPart.length));
  const digits = new Set(pieces.digits);
  const drop =
    numbers === 'drop' ? withoutDigits(digits) : withoutOrderIds(digits, new Set(pieces.idMarkers));
  const prefix = [
    ...window(emailFreeTexts, random.int(0, 61), drop, random),
    ...source.tokenIds,
    ...window(emailFreeTexts, random.int(2, 81), drop, random),
  ];
  const lastCopied = target.spanPositions.at(-1)!;
  const tokenIds = [...prefix, ...target.tokenIds.slice(0, lastCopied + 1)];
  const copied = new Set(target.spanPositions.map((position) => prefix.length + position));
  const lossMask = tokenIds.map((_, position) => (copied.has(position) ? 1 : 0));
  return { tokenIds, lossMask };
}
