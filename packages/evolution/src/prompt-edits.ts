import { InvalidArgumentError, type Random } from '@cohort/core';
import { joinSentences, splitSentences } from './prompt-text';

/** The rule-based edits of {@link editPrompt}. */
export type PromptEdit = 'insert' | 'delete' | 'replace' | 'emphasis' | 'reorder';

/** Every {@link PromptEdit}, in a fixed order. */
export const promptEdits: readonly PromptEdit[] = Object.freeze([
  'insert',
  'delete',
  'replace',
  'emphasis',
  'reorder',
]);

/** Options of {@link editPrompt}. */
export interface PromptEditOptions {
  /** Sentences that `insert` and `replace` draw from (supplied by the user). */
  phrases: readonly string[];
  /** Prefixes that `emphasis` adds or removes. Default `['Important: ', 'Always: ']`. */
  emphasisPrefixes?: readonly string[];
  /** Edits allowed; default all of {@link promptEdits}. */
  edits?: readonly PromptEdit[];
  /** `insert` is not applied to a prompt with this many sentences. Default 12. */
  maximumSentences?: number;
  /** `delete` is not applied to a prompt with this many sentences. Default 1 (never empty a prompt). */
  minimumSentences?: number;
}

const defaultEmphasisPrefixes = ['Important: ', 'Always: '];

function withoutEmphasis(sentence: string, prefixes: readonly string[]): string | undefined {
  for (const prefix of prefixes) {
    if (sentence.startsWith(prefix)) return sentence.slice(prefix.length);
  }
  return undefined;
}

/** The edits that can change `sentences` (for example no `reorder` of one sentence). */
export function applicablePromptEdits(
  sentences: readonly string[],
  options: PromptEditOptions,
): PromptEdit[] {
  const allowed = options.edits ?? promptEdits;
  const maximum = options.maximumSentences ?? 12;
  const minimum = options.minimumSentences ?? 1;
  const unused = options.phrases.filter((phrase) => !sentences.includes(phrase));
  return allowed.filter((edit) => {
    switch (edit) {
      case 'insert':
        return unused.length > 0 && sentences.length < maximum;
      case 'delete':
        return sentences.length > minimum;
      case 'emphasis':
        return sentences.length > 0;
      case 'replace':
        return sentences.length > 0 && unused.length > 0;
      case 'reorder':
        return sentences.length > 1;
    }
    return false;
  });
}

/**
 * One rule-based edit of a system prompt, chosen uniformly among the
 * applicable ones: insert a phrase from the bank at a random position, delete
 * a sentence, replace a sentence by a bank phrase, toggle an emphasis prefix
 * on a sentence, or swap two sentences. Bank phrases already present are not
 * inserted twice. Returns the prompt unchanged when no edit applies.
 *
 * @example
 * ```ts
 * editPrompt('Be polite.', { phrases: ['Cite your sources.'] }, new Random(0));
 * ```
 */
export function editPrompt(prompt: string, options: PromptEditOptions, random: Random): string {
  const sentences = splitSentences(prompt);
  const applicable = applicablePromptEdits(sentences, options);
  if (applicable.length === 0) return prompt;
  const edit = random.choice(applicable);
  return joinSentences(applyPromptEdit(sentences, edit, options, random));
}

/**
 * Applies one named edit to a list of sentences (see {@link editPrompt}).
 *
 * @throws InvalidArgumentError naming `edit` when it cannot apply to `sentences`.
 */
export function applyPromptEdit(
  sentences: readonly string[],
  edit: PromptEdit,
  options: PromptEditOptions,
  random: Random,
): string[] {
  if (!applicablePromptEdits(sentences, { ...options, edits: [edit] }).includes(edit)) {
    throw new InvalidArgumentError({
      argument: 'edit',
      value: edit,
      message: `does not apply to a prompt of ${sentences.length} sentences`,
    });
  }
  const result = [...sentences];
  const unused = options.phrases.filter((phrase) => !sentences.includes(phrase));
  switch (edit) {
    case 'insert':
      result.splice(random.int(0, result.length + 1), 0, random.choice(unused));
      break;
    case 'delete':
      result.splice(random.int(0, result.length), 1);
      break;
    case 'replace':
      result[random.int(0, result.length)] = random.choice(unused);
      break;
    case 'emphasis': {
      const prefixes = options.emphasisPrefixes ?? defaultEmphasisPrefixes;
      const index = random.int(0, result.length);
      const sentence = result[index]!;
      const plain = withoutEmphasis(sentence, prefixes);
      result[index] = plain ?? `${random.choice(prefixes)}${sentence}`;
      break;
    }
    case 'reorder': {
      const [first, second] = random.sample(
        Array.from({ length: result.length }, (_, index) => index),
        2,
      );
      [result[first!], result[second!]] = [result[second!]!, result[first!]!];
      break;
    }
  }
  return result;
}

/**
 * Sentence-level uniform crossover of two prompts: position by position, the
 * child takes the sentence of either parent with probability 1/2 (past the
 * end of the shorter parent, the longer parent's sentence is kept with
 * probability 1/2); a sentence already in the child is not repeated.
 *
 * @example
 * ```ts
 * crossoverPrompts('A. B.', 'C. D.', new Random(0)); // for example 'A. D.'
 * ```
 */
export function crossoverPrompts(first: string, second: string, random: Random): string {
  const a = splitSentences(first);
  const b = splitSentences(second);
  const child: string[] = [];
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const fromFirst = random.bernoulli(0.5);
    const sentence = fromFirst ? a[index] : b[index];
    if (sentence !== undefined && !child.includes(sentence)) child.push(sentence);
  }
  return joinSentences(child);
}
