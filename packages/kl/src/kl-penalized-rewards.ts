import { InvalidArgumentError } from '@cohort/core';
import { assertFiniteRows, assertSameRowsShape } from './internal/shapes';

/** Options of {@link klPenalizedRewards}: give exactly one of `rewardsPerSequence` and `rewardsPerToken`. */
export interface KlPenalizedRewardsOptions {
  /** One scalar reward per sequence, credited to its last agent token. */
  rewardsPerSequence?: readonly number[];
  /** Rewards already placed on tokens (e.g. per-turn rewards on each turn's last agent token). */
  rewardsPerToken?: readonly (readonly number[])[];
  /** Per-token KL estimates `[B][L]` (e.g. from {@link klPerToken}, usually k1). */
  klPerToken: readonly (readonly number[])[];
  /** The KL coefficient beta >= 0. */
  coefficient: number;
  /** `[B][L]`, 1 on agent tokens, 0 elsewhere. */
  lossMask: readonly (readonly number[])[];
}

/**
 * Folds the KL penalty into per-token rewards, as in Ziegler et al. 2019 and
 * OpenRLHF / TRL's PPO: `r_t = m_t * (R_t - beta * kl_t)`, where `R_t` is the
 * given per-token reward, or, for `rewardsPerSequence`, the sequence reward
 * placed on the last token with mask 1 (the end of the agent's answer) and 0
 * elsewhere. Tokens with mask 0 get reward 0 and no KL penalty.
 *
 * Convention: the result is meant for returns or GAE over agent tokens. A
 * reward given on a token with mask 0, or a sequence reward for a row with no
 * agent token, throws (it would be silently lost).
 *
 * @example
 * ```ts
 * klPenalizedRewards({ rewardsPerSequence: [1], klPerToken: [[0.1, 0.2, 0]], coefficient: 0.5, lossMask: [[1, 1, 0]] });
 * // [[-0.05, 1 - 0.1, 0]]
 * ```
 */
export function klPenalizedRewards(options: KlPenalizedRewardsOptions): number[][] {
  const { rewardsPerSequence, rewardsPerToken, klPerToken, coefficient, lossMask } = options;
  if ((rewardsPerSequence === undefined) === (rewardsPerToken === undefined)) {
    throw new InvalidArgumentError({
      argument: 'rewardsPerSequence',
      value: rewardsPerSequence,
      message: 'give exactly one of rewardsPerSequence and rewardsPerToken',
    });
  }
  if (!(Number.isFinite(coefficient) && coefficient >= 0)) {
    throw new InvalidArgumentError({
      argument: 'coefficient',
      value: coefficient,
      message: 'must be a finite number >= 0',
    });
  }
  assertFiniteRows('klPerToken', klPerToken);
  assertFiniteRows('lossMask', lossMask);
  assertSameRowsShape('lossMask', lossMask, 'klPerToken', klPerToken);
  lossMask.forEach((row, rowIndex) => {
    row.forEach((value, index) => {
      if (value !== 0 && value !== 1) {
        throw new InvalidArgumentError({
          argument: `lossMask[${rowIndex}][${index}]`,
          value,
          message: 'must be 0 or 1',
        });
      }
    });
  });
  const base: number[][] = lossMask.map((row) => row.map(() => 0));
  if (rewardsPerToken !== undefined) {
    assertFiniteRows('rewardsPerToken', rewardsPerToken);
    assertSameRowsShape('lossMask', lossMask, 'rewardsPerToken', rewardsPerToken);
    rewardsPerToken.forEach((row, rowIndex) => {
      row.forEach((reward, index) => {
        if (reward !== 0 && lossMask[rowIndex]![index] === 0) {
          throw new InvalidArgumentError({
            argument: `rewardsPerToken[${rowIndex}][${index}]`,
            value: reward,
            message: 'lies on a token with lossMask 0; place rewards on agent tokens',
          });
        }
        base[rowIndex]![index] = reward;
      });
    });
  } else if (rewardsPerSequence !== undefined) {
    assertFiniteRows('rewardsPerSequence', rewardsPerSequence);
    if (rewardsPerSequence.length !== lossMask.length) {
      throw new InvalidArgumentError({
        argument: 'rewardsPerSequence',
        value: rewardsPerSequence,
        message: `must have one reward per row of lossMask: ${lossMask.length} rows, ${rewardsPerSequence.length} rewards`,
      });
    }
    lossMask.forEach((row, rowIndex) => {
      const last = row.lastIndexOf(1);
      if (last < 0) {
        throw new InvalidArgumentError({
          argument: `lossMask[${rowIndex}]`,
          value: row,
          message: 'has no agent token to credit the sequence reward to',
        });
      }
      base[rowIndex]![last] = rewardsPerSequence[rowIndex]!;
    });
  }
  return base.map((row, rowIndex) =>
    row.map((reward, index) =>
      lossMask[rowIndex]![index] === 1 ? reward - coefficient * klPerToken[rowIndex]![index]! : 0,
    ),
  );
}
