/** How varied a batch of agent replies is: low values flag a degenerate policy. */
export interface ReplyDiversity {
  /** Agent replies counted. */
  replies: number;
  /** Distinct words / words over all replies (distinct-1, Li et al. 2016, "A Diversity-Promoting Objective Function for Neural Conversation Models", sec. 4.1). */
  distinct1: number;
  /** Distinct word bigrams / word bigrams over all replies (distinct-2, same source). */
  distinct2: number;
  /** Share of replies equal to the most frequent reply (after trimming, lower-casing and collapsing spaces). */
  topReplyShare: number;
  /** The most frequent reply (normalized), for warnings and reports. */
  topReply: string;
  /** Share of replies with no text at all. */
  emptyShare: number;
}

function normalize(reply: string): string {
  return reply.trim().toLowerCase().replace(/\s+/g, ' ');
}

/**
 * distinct-1, distinct-2, the share of the most frequent reply and the share
 * of empty replies over a batch of agent replies. An empty batch gives zeros
 * (and an empty `topReply`).
 *
 * `distinct-n = |{distinct n-grams}| / |n-grams|`, words split on white
 * space after lower-casing (Li et al. 2016, sec. 4.1); a reply shorter than
 * n contributes no n-gram.
 *
 * @example
 * ```ts
 * replyDiversity(['Can I have your order number?', 'can i have your order number?', 'Done.']);
 * // { replies: 3, distinct1: 7/13, distinct2: 5/10, topReplyShare: 2/3, ... }
 * ```
 */
export function replyDiversity(replies: readonly string[]): ReplyDiversity {
  const counts = new Map<string, number>();
  const unigrams = new Set<string>();
  const bigrams = new Set<string>();
  let unigramCount = 0;
  let bigramCount = 0;
  let empty = 0;
  for (const reply of replies) {
    const text = normalize(reply);
    if (text === '') empty++;
    counts.set(text, (counts.get(text) ?? 0) + 1);
    const words = text === '' ? [] : text.split(' ');
    for (const [index, word] of words.entries()) {
      unigrams.add(word);
      unigramCount++;
      if (index > 0) {
        bigrams.add(`${words[index - 1]} ${word}`);
        bigramCount++;
      }
    }
  }
  let topReply = '';
  let topCount = 0;
  for (const [text, count] of counts) {
    if (count > topCount) {
      topReply = text;
      topCount = count;
    }
  }
  const share = (count: number, total: number) => (total === 0 ? 0 : count / total);
  return {
    replies: replies.length,
    distinct1: share(unigrams.size, unigramCount),
    distinct2: share(bigrams.size, bigramCount),
    topReplyShare: share(topCount, replies.length),
    topReply,
    emptyShare: share(empty, replies.length),
  };
}
