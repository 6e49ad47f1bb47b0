import { assertFiniteNumber, assertFiniteNumberArray, assertUnitInterval } from './validation';

/** Options of {@link discountedReturns}. */
export interface DiscountedReturnsOptions {
  /** Reward per step, `r_0 .. r_{T-1}`. */
  rewards: readonly number[];
  /** Discount factor in [0, 1]. */
  gamma: number;
  /** Value of the state after the last step; 0 (default) when the episode ended there. */
  bootstrapValue?: number;
}

/**
 * Discounted returns to go (Sutton and Barto 2018, eq. 3.8):
 *
 * `G_t = r_t + gamma * G_{t+1}`, with `G_T = bootstrapValue`,
 *
 * that is `G_t = sum_{l=0}^{T-1-t} gamma^l r_{t+l} + gamma^{T-t} * bootstrapValue`.
 * An empty trajectory gives `[]`.
 *
 * @throws NonFiniteError naming `rewards[t]` when a reward is NaN or infinite.
 *
 * @example
 * ```ts
 * discountedReturns({ rewards: [0, 0, 1], gamma: 0.9 }); // [0.81, 0.9, 1]
 * ```
 */
export function discountedReturns(options: DiscountedReturnsOptions): number[] {
  const { rewards, gamma, bootstrapValue = 0 } = options;
  assertFiniteNumberArray('rewards', rewards);
  assertUnitInterval('gamma', gamma);
  assertFiniteNumber('bootstrapValue', bootstrapValue);
  const returns = new Array<number>(rewards.length);
  let next = bootstrapValue;
  for (let step = rewards.length - 1; step >= 0; step--) {
    next = rewards[step]! + gamma * next;
    returns[step] = next;
  }
  return returns;
}
