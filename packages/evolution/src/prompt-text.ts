/**
 * Splits a system prompt into sentences: breaks after `.`, `!` or `?`
 * followed by whitespace, and at line breaks; trims and drops empty pieces.
 *
 * @example
 * ```ts
 * splitSentences('Be brief. Cite sources!\nAsk first?'); // ['Be brief.', 'Cite sources!', 'Ask first?']
 * ```
 */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence.length > 0);
}

/** Joins sentences with single spaces (the inverse of {@link splitSentences} up to whitespace). */
export function joinSentences(sentences: readonly string[]): string {
  return sentences.join(' ');
}

/** Lower-cased word tokens (letters, digits, apostrophes). */
export function wordTokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
}

/**
 * Token Jaccard distance `1 - |A ∩ B| / |A ∪ B|` over the sets of lower-cased
 * word tokens; 0 for two texts without any token.
 *
 * @example
 * ```ts
 * tokenJaccardDistance('be brief', 'be kind'); // 1 - 1/3
 * ```
 */
export function tokenJaccardDistance(first: string, second: string): number {
  const a = new Set(wordTokens(first));
  const b = new Set(wordTokens(second));
  if (a.size === 0 && b.size === 0) return 0;
  let shared = 0;
  for (const token of a) if (b.has(token)) shared++;
  return 1 - shared / (a.size + b.size - shared);
}

/**
 * Normalized Levenshtein distance over characters (UTF-16 code units):
 * `lev(a, b) / max(|a|, |b|)`, in [0, 1]; 0 for two empty strings.
 * Levenshtein 1966, computed with the two-row dynamic program.
 *
 * @example
 * ```ts
 * normalizedEditDistance('kitten', 'sitting'); // 3 / 7
 * ```
 */
export function normalizedEditDistance(first: string, second: string): number {
  const longest = Math.max(first.length, second.length);
  if (longest === 0) return 0;
  let previous = Array.from({ length: second.length + 1 }, (_, index) => index);
  let current = new Array<number>(second.length + 1).fill(0);
  for (let i = 1; i <= first.length; i++) {
    current[0] = i;
    for (let j = 1; j <= second.length; j++) {
      const substitution = previous[j - 1]! + (first[i - 1] === second[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    [previous, current] = [current, previous];
  }
  return previous[second.length]! / longest;
}
