import type { Random } from '@cohort/core';

/**
 * `log_softmax(values[offset .. offset + size) / temperature)` in float64,
 * with the max subtracted first (the stable log-sum-exp form).
 */
export function logSoftmax(
  values: ArrayLike<number>,
  offset: number,
  size: number,
  temperature = 1,
): Float64Array {
  const output = new Float64Array(size);
  let maximum = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < size; index++) {
    const value = (values[offset + index] as number) / temperature;
    output[index] = value;
    if (value > maximum) maximum = value;
  }
  let sum = 0;
  for (let index = 0; index < size; index++) sum += Math.exp((output[index] as number) - maximum);
  const logSum = Math.log(sum);
  // (z - max) - log sum, not z - (max + log sum): the latter loses log sum next to a huge max.
  for (let index = 0; index < size; index++)
    output[index] = (output[index] as number) - maximum - logSum;
  return output;
}

/**
 * Draws an id from `exp(logProbs)` restricted to the `topK` most likely ids
 * (0: all) and then to the smallest most-likely prefix holding `topP` of the
 * remaining mass (1: all), renormalized. Ties in probability keep the lower id
 * first, so the truncation is deterministic.
 */
export function sampleTruncated(
  logProbs: Float64Array,
  topK: number,
  topP: number,
  random: Random,
): number {
  const size = logProbs.length;
  let candidates: number[];
  if ((topK > 0 && topK < size) || topP < 1) {
    candidates = Array.from({ length: size }, (_, index) => index);
    candidates.sort((a, b) => (logProbs[b] as number) - (logProbs[a] as number) || a - b);
    if (topK > 0 && topK < size) candidates = candidates.slice(0, topK);
    if (topP < 1) {
      let total = 0;
      for (const id of candidates) total += Math.exp(logProbs[id] as number);
      let kept = 0;
      let mass = 0;
      while (kept < candidates.length) {
        mass += Math.exp(logProbs[candidates[kept] as number] as number);
        kept++;
        // A relative slack so that float rounding does not pull in one more token at an exact boundary.
        if (mass >= topP * total * (1 - 1e-9)) break;
      }
      candidates = candidates.slice(0, kept);
    }
  } else {
    candidates = [];
  }
  if (candidates.length === 0) {
    const weights = new Float64Array(size);
    for (let index = 0; index < size; index++) weights[index] = Math.exp(logProbs[index] as number);
    return random.categorical(weights);
  }
  const weights = candidates.map((id) => Math.exp(logProbs[id] as number));
  return candidates[random.categorical(weights)] as number;
}
