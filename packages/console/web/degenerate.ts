/**
 * Why a reply looks degenerate, or null: empty, cut off by the token limit,
 * or a run of one to three words repeated four or more times in a row (the
 * loops a collapsing policy falls into).
 */
export function degenerateReason(text: string, finishReason?: string): string | null {
  if (text.trim() === '') return 'empty';
  if (finishReason === 'length') return 'token limit';
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  for (let span = 1; span <= 3; span++) {
    for (let start = 0; start + 4 * span <= words.length; start++) {
      const unit = words.slice(start, start + span).join(' ');
      let repeats = 1;
      while (words.slice(start + repeats * span, start + (repeats + 1) * span).join(' ') === unit) {
        repeats++;
        if (repeats >= 4) return `repeats "${unit}"`;
      }
    }
  }
  return null;
}
