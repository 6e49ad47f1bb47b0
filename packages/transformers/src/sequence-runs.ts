/**
 * Consecutive runs `[start, end)` of sequences of `lengths`: each at most
 * `maxRows` sequences and at most `budget` by `cost(rows, longest)` (a run is
 * padded to its longest sequence), unless one sequence alone exceeds it.
 */
export function consecutiveRuns(
  lengths: readonly number[],
  maxRows: number,
  cost: (rows: number, longest: number) => number,
  budget: number,
): [number, number][] {
  const runs: [number, number][] = [];
  let start = 0;
  while (start < lengths.length) {
    let end = start + 1;
    let longest = lengths[start] as number;
    while (end < lengths.length && end - start < maxRows) {
      const next = Math.max(longest, lengths[end] as number);
      if (cost(end - start + 1, next) > budget) break;
      longest = next;
      end++;
    }
    runs.push([start, end]);
    start = end;
  }
  return runs;
}
