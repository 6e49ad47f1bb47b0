import { assertOneOf, InvalidArgumentError } from '@cohort/core';
import { assertWhitenOption, type MaskedWhitenSettings, whitenRows } from './masked-whiten';
import {
  assertBinaryMask,
  assertFiniteNumberArray,
  assertLength,
  assertUnitInterval,
} from './validation';

/** Options of {@link tokenReinforcePlusPlusAdvantages}. */
export interface TokenReinforcePlusPlusOptions {
  /** Per sequence, a reward per token (a KL penalty per token, a final reward on the last agent token, ...). */
  rewardsPerToken: readonly (readonly number[])[];
  /** Per sequence, 0/1 per token: 1 on the agent's own tokens. */
  masks: readonly (readonly number[])[];
  /** Discount per token in [0, 1]. */
  gamma: number;
  /**
   * How the return crosses a position with mask 0 inside a sequence:
   * - `'reset'` (default; verl and SkyRL): the running return is stored there
   *   and then set to 0, so a masked position ends the sum (verl's "reset
   *   after EOS", which also cuts at interior masked positions);
   * - `'zero'` (OpenRLHF `get_cumulative_returns`): its reward counts as 0
   *   and the return flows through it.
   * Every sequence starts from 0 at its own end either way.
   */
  maskedPositions?: 'reset' | 'zero';
  /**
   * Whitening of the returns over every masked position of the batch: `true`
   * (default) is verl's `masked_whiten` (sample variance, `+ 1e-8`); OpenRLHF
   * is `{ variance: 'population', epsilonPlacement: 'floor' }`; `false` keeps
   * the returns as advantages.
   */
  whiten?: boolean | MaskedWhitenSettings;
}

/** Result of {@link tokenReinforcePlusPlusAdvantages}: ragged rows, 0 on masked positions. */
export interface TokenReinforcePlusPlusResult {
  advantages: number[][];
  /** The discounted returns before whitening. */
  returns: number[][];
}

/**
 * REINFORCE++ with per-token rewards and a discount (Hu 2025, "REINFORCE++",
 * sec. 3; verl `compute_reinforce_plus_plus_outcome_advantage`, OpenRLHF
 * `get_cumulative_returns` + advantage normalization, SkyRL's port of verl):
 *
 * `G_t = r_t + gamma * G_{t+1}` from the end of each sequence, then
 * `A_t = whiten(G)_t` over the masked tokens of the batch.
 *
 * Output positions with mask 0 are 0 (verl multiplies by the mask; OpenRLHF
 * leaves values there that no loss reads). A reward on a masked position is
 * refused with `'zero'` (it would be silently dropped) and kept with
 * `'reset'` (verl counts it at that position and behind it nothing).
 *
 * @throws NonFiniteError naming `rewardsPerToken[i][t]`.
 * @throws InvalidArgumentError naming `masks[i][t]`, a length or a setting.
 *
 * @example
 * ```ts
 * tokenReinforcePlusPlusAdvantages({ rewardsPerToken: [[0, 1], [0, 0]], masks: [[1, 1], [1, 1]], gamma: 1, whiten: false });
 * // returns [[1, 1], [0, 0]]
 * ```
 */
export function tokenReinforcePlusPlusAdvantages(
  options: TokenReinforcePlusPlusOptions,
): TokenReinforcePlusPlusResult {
  const { rewardsPerToken, masks, gamma, maskedPositions = 'reset', whiten = true } = options;
  assertUnitInterval('gamma', gamma);
  assertOneOf('maskedPositions', maskedPositions, ['reset', 'zero'] as const);
  assertWhitenOption(whiten);
  if (!Array.isArray(rewardsPerToken) || !Array.isArray(masks)) {
    throw new InvalidArgumentError({
      argument: Array.isArray(rewardsPerToken) ? 'masks' : 'rewardsPerToken',
      value: Array.isArray(rewardsPerToken) ? masks : rewardsPerToken,
      message: 'must be an array of rows',
    });
  }
  assertLength('masks', masks, rewardsPerToken.length, 'rewardsPerToken');
  const returns = rewardsPerToken.map((rewards, row) => {
    assertFiniteNumberArray(`rewardsPerToken[${row}]`, rewards);
    const mask = masks[row];
    assertBinaryMask(`masks[${row}]`, mask);
    assertLength(`masks[${row}]`, mask, rewards.length, `rewardsPerToken[${row}]`);
    const rowReturns = new Array<number>(rewards.length).fill(0);
    let running = 0;
    for (let step = rewards.length - 1; step >= 0; step--) {
      const inMask = mask[step] === 1;
      if (maskedPositions === 'zero' && !inMask && rewards[step] !== 0) {
        throw new InvalidArgumentError({
          argument: `rewardsPerToken[${row}][${step}]`,
          value: rewards[step],
          message:
            "is on a masked position, which maskedPositions 'zero' drops; move it to an agent token",
        });
      }
      running = (inMask || maskedPositions === 'reset' ? rewards[step]! : 0) + gamma * running;
      rowReturns[step] = running;
      if (maskedPositions === 'reset' && !inMask) running = 0;
    }
    return rowReturns;
  });
  const isIn = (row: number, step: number) => masks[row]![step] === 1;
  const maskedReturns = returns.map((row, b) => row.map((value, t) => (isIn(b, t) ? value : 0)));
  const advantages =
    whiten === false ? maskedReturns : whitenRows(returns, isIn, whiten === true ? {} : whiten);
  return { advantages, returns };
}
