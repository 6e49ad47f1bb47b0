import { assertOneOf, InvalidArgumentError } from '@cohort/core';
import type { MaskedPositions } from './gae-options';
import {
  assertBinaryMask,
  assertFiniteNumber,
  assertFiniteNumberArray,
  assertLength,
  assertUnitInterval,
} from './validation';

/** One trajectory for {@link generalizedAdvantageEstimation}. */
export interface GaeTrajectory {
  /** Reward per step, `r_0 .. r_{T-1}` (per turn or per token). */
  rewards: readonly number[];
  /** `values[t] = V(s_t)`, the value of the state before step t; same length as `rewards`. */
  values: readonly number[];
  /** `V(s_T)`, the value after the last step; 0 (default) when the episode ended there. */
  bootstrapValue?: number;
  /**
   * Optional 0/1 mask: 1 where a step is the agent's own action. How GAE crosses
   * a 0 is set by `maskedPositions`. Without a mask every position is a step.
   */
  mask?: readonly number[];
}

/** Options of {@link generalizedAdvantageEstimation}. */
export interface GeneralizedAdvantageEstimationOptions extends GaeTrajectory {
  /** Discount factor in [0, 1]. */
  gamma: number;
  /** GAE parameter in [0, 1]: 0 gives one-step TD errors, 1 gives Monte Carlo returns minus values. */
  lambda: number;
  /**
   * How the recursion crosses a masked position (only used with `mask`):
   * - `'skip'` (default): masked positions are not steps. Values, rewards and the
   *   discount pass over them, so GAE runs over the unmasked steps only, as in
   *   verl's multi-turn GAE. A reward on a masked position is refused, since it
   *   would be lost.
   * - `'zero'`: masked positions are steps with reward 0 and value 0, as OpenRLHF
   *   does by multiplying rewards and values by the action mask.
   * - `'step'`: masked positions are ordinary steps with their own rewards and values.
   *
   * In every mode a masked position's outputs are advantage 0 and return `values[t]`.
   */
  maskedPositions?: MaskedPositions;
}

/** Result of {@link generalizedAdvantageEstimation}: one advantage and one return per step. */
export interface GaeResult {
  advantages: number[];
  /** `returns[t] = advantages[t] + values[t]`: the value-function target (TD(lambda) return). */
  returns: number[];
}

/** Validates and computes one trajectory; `prefix` names the fields in errors. */
export function computeGae(
  trajectory: GaeTrajectory,
  settings: { gamma: number; lambda: number; maskedPositions: MaskedPositions },
  prefix: string,
): GaeResult {
  const { rewards, values, bootstrapValue = 0, mask } = trajectory;
  const { gamma, lambda, maskedPositions } = settings;
  assertFiniteNumberArray(`${prefix}rewards`, rewards);
  assertFiniteNumberArray(`${prefix}values`, values);
  assertLength(`${prefix}values`, values, rewards.length, `${prefix}rewards`);
  assertFiniteNumber(`${prefix}bootstrapValue`, bootstrapValue);
  if (mask !== undefined) {
    assertBinaryMask(`${prefix}mask`, mask);
    assertLength(`${prefix}mask`, mask, rewards.length, `${prefix}rewards`);
  }
  const length = rewards.length;
  const isStep = (step: number) => mask === undefined || mask[step] === 1;
  const advantages = new Array<number>(length).fill(0);

  let nextValue = bootstrapValue;
  let nextAdvantage = 0;
  for (let step = length - 1; step >= 0; step--) {
    let reward = rewards[step]!;
    let value = values[step]!;
    if (!isStep(step)) {
      if (maskedPositions === 'skip') {
        if (reward !== 0) {
          throw new InvalidArgumentError({
            argument: `${prefix}rewards[${step}]`,
            value: reward,
            message: `is on a masked position, which maskedPositions 'skip' does not count as a step; move it to the agent's last unmasked step`,
          });
        }
        continue;
      }
      if (maskedPositions === 'zero') {
        reward = 0;
        value = 0;
      }
    }
    const delta = reward + gamma * nextValue - value;
    nextAdvantage = delta + gamma * lambda * nextAdvantage;
    nextValue = value;
    if (isStep(step)) advantages[step] = nextAdvantage;
  }
  const returns = advantages.map((advantage, step) => advantage + values[step]!);
  return { advantages, returns };
}

/**
 * Generalized advantage estimation (Schulman et al. 2015, "High-Dimensional
 * Continuous Control Using Generalized Advantage Estimation", eq. 16) for one
 * trajectory of T steps:
 *
 * `delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)`, with `V(s_T) = bootstrapValue`,
 * `A_t = delta_t + gamma * lambda * A_{t+1}` (`A_T = 0`), `returns_t = A_t + V(s_t)`.
 *
 * Equivalently `A_t = sum_{l=0}^{T-1-t} (gamma * lambda)^l * delta_{t+l}`. With
 * `lambda = 1`, `A_t = G_t - V(s_t)` (discounted return minus value); with
 * `lambda = 0`, `A_t = delta_t`. An empty trajectory gives empty arrays.
 *
 * @throws NonFiniteError naming `rewards[t]`, `values[t]` or `bootstrapValue` when one is NaN or infinite.
 * @throws InvalidArgumentError when lengths differ or `gamma`, `lambda` are outside [0, 1].
 *
 * @example
 * ```ts
 * generalizedAdvantageEstimation({ rewards: [0, 1], values: [0.5, 0.5], gamma: 1, lambda: 1 });
 * // deltas [0, 0.5]; advantages [0.5, 0.5]; returns [1, 1]
 * ```
 */
export function generalizedAdvantageEstimation(
  options: GeneralizedAdvantageEstimationOptions,
): GaeResult {
  const { gamma, lambda, maskedPositions = 'skip' } = options;
  assertUnitInterval('gamma', gamma);
  assertUnitInterval('lambda', lambda);
  assertOneOf('maskedPositions', maskedPositions, ['skip', 'zero', 'step'] as const);
  return computeGae(options, { gamma, lambda, maskedPositions }, '');
}
