import { InvalidArgumentError } from '@cohort/core';
import { assertNumberArray } from './numerics';

/** Options of {@link expandToTokens}. */
export interface ExpandToTokensOptions {
  /** One advantage per sequence. */
  advantages: readonly number[];
  /** Per sequence, a 0/1 mask over its tokens: 1 where the policy's own token is trained on. */
  lossMasks: readonly (readonly number[])[];
}

/**
 * Broadcasts each sequence's advantage over its loss mask:
 * `A[i][t] = advantages[i] * lossMasks[i][t]`, so every trained token of a
 * sequence shares its advantage (outcome supervision, Shao et al. 2024 sec.
 * 4.1.2) and masked tokens (prompt, user and tool turns, padding) get exactly 0.
 * Rows keep their own lengths; an empty batch gives `[]`.
 *
 * @throws InvalidArgumentError naming `lossMasks[i][t]` when a mask value is not 0 or 1,
 *   or when the number of masks differs from the number of advantages.
 * @throws NonFiniteError naming `advantages[i]` when an advantage is NaN or infinite.
 *
 * @example
 * ```ts
 * expandToTokens({ advantages: [2, -1], lossMasks: [[0, 1, 1], [1, 0]] });
 * // [[0, 2, 2], [-1, 0]]
 * ```
 */
export function expandToTokens(options: ExpandToTokensOptions): number[][] {
  const { advantages, lossMasks } = options;
  assertNumberArray('advantages', advantages);
  if (!Array.isArray(lossMasks) || lossMasks.length !== advantages.length) {
    throw new InvalidArgumentError({
      argument: 'lossMasks',
      value: lossMasks,
      message: `must be an array of one mask per sequence (advantages.length = ${advantages.length})`,
    });
  }
  return lossMasks.map((mask, sequence) => {
    if (!Array.isArray(mask)) {
      throw new InvalidArgumentError({
        argument: `lossMasks[${sequence}]`,
        value: mask,
        message: 'must be an array of 0 and 1',
      });
    }
    const advantage = advantages[sequence]!;
    return mask.map((flag, token) => {
      if (flag !== 0 && flag !== 1) {
        throw new InvalidArgumentError({
          argument: `lossMasks[${sequence}][${token}]`,
          value: flag,
          message: 'must be 0 or 1',
        });
      }
      return flag === 1 ? advantage : 0;
    });
  });
}
