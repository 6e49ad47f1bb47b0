import { assertOneOf, InvalidArgumentError } from '@cohort/core';
import type { MaskedPositions } from './gae-options';
import { computeGae, type GaeTrajectory } from './generalized-advantage-estimation';
import { assertWhitenOption, type MaskedWhitenSettings, whitenRows } from './masked-whiten';
import { assertUnitInterval } from './validation';

/** Options of {@link batchedGeneralizedAdvantageEstimation}. */
export interface BatchedGeneralizedAdvantageEstimationOptions {
  /** Trajectories of any lengths, each with its own rewards, values, bootstrap value and mask. */
  trajectories: readonly GaeTrajectory[];
  /** Discount factor in [0, 1]. */
  gamma: number;
  /** GAE parameter in [0, 1]. */
  lambda: number;
  /** How masked positions are crossed; see `generalizedAdvantageEstimation`. Default `'skip'`. */
  maskedPositions?: MaskedPositions;
  /**
   * Whiten the advantages over the unmasked positions of the whole batch, after
   * the returns are taken (verl and SkyRL `compute_gae_advantage_return`, TRL's
   * PPO): `true` uses verl's `masked_whiten` (sample variance, `+ 1e-8`, mean
   * shifted to 0); an object sets {@link MaskedWhitenSettings} (OpenRLHF:
   * `{ variance: 'population', epsilonPlacement: 'floor' }`). Default: no whitening.
   */
  whiten?: boolean | MaskedWhitenSettings;
}

/** Result of {@link batchedGeneralizedAdvantageEstimation}: ragged rows, one per trajectory. */
export interface BatchedGaeResult {
  advantages: number[][];
  returns: number[][];
}

/**
 * GAE (Schulman et al. 2015, eq. 16) over many trajectories of different
 * lengths, each computed as by `generalizedAdvantageEstimation`. Rows keep their
 * own lengths (no padding, so no padded step can leak into a recursion); an
 * empty batch gives empty arrays. With `whiten`, the advantages (not the
 * returns) are then whitened over every unmasked position of the batch, as
 * verl, SkyRL and TRL do. Errors name the trajectory, for example
 * `trajectories[2].values[5]`.
 *
 * @example
 * ```ts
 * batchedGeneralizedAdvantageEstimation({
 *   trajectories: [{ rewards: [1], values: [0] }, { rewards: [0, 1], values: [0, 0] }],
 *   gamma: 1,
 *   lambda: 1,
 * }).advantages; // [[1], [1, 1]]
 * ```
 */
export function batchedGeneralizedAdvantageEstimation(
  options: BatchedGeneralizedAdvantageEstimationOptions,
): BatchedGaeResult {
  const { trajectories, gamma, lambda, maskedPositions = 'skip', whiten = false } = options;
  assertWhitenOption(whiten);
  if (!Array.isArray(trajectories)) {
    throw new InvalidArgumentError({
      argument: 'trajectories',
      value: trajectories,
      message: 'must be an array of { rewards, values, bootstrapValue?, mask? }',
    });
  }
  assertUnitInterval('gamma', gamma);
  assertUnitInterval('lambda', lambda);
  assertOneOf('maskedPositions', maskedPositions, ['skip', 'zero', 'step'] as const);
  const advantages: number[][] = [];
  const returns: number[][] = [];
  trajectories.forEach((trajectory: unknown, index) => {
    if (trajectory === null || typeof trajectory !== 'object') {
      throw new InvalidArgumentError({
        argument: `trajectories[${index}]`,
        value: trajectory,
        message: 'must be an object { rewards, values, bootstrapValue?, mask? }',
      });
    }
    const result = computeGae(
      trajectory as GaeTrajectory,
      { gamma, lambda, maskedPositions },
      `trajectories[${index}].`,
    );
    advantages.push(result.advantages);
    returns.push(result.returns);
  });
  if (whiten === false) return { advantages, returns };
  const masks = trajectories.map((trajectory) => trajectory.mask);
  const whitened = whitenRows(
    advantages,
    (row, index) => masks[row] === undefined || masks[row]![index] === 1,
    whiten === true ? {} : whiten,
  );
  return { advantages: whitened, returns };
}
