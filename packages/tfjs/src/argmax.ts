/**
 * Index of the largest value, the first one on ties (as `torch.argmax` and
 * `np.argmax`); 0 for an empty array.
 *
 * @example
 * ```ts
 * argmax([1, 3, 3, 2]); // 1
 * ```
 */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let index = 1; index < values.length; index++)
    if ((values[index] as number) > (values[best] as number)) best = index;
  return best;
}
