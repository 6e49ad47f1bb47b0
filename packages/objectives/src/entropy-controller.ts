import { InvalidArgumentError, parseWithSchema } from '@cohort/core';
import {
  type AdaptiveEntropyControllerOptions,
  AdaptiveEntropyControllerOptionsSchema,
} from './entropy-controller-options';

/** Everything an {@link AdaptiveEntropyController} needs to continue exactly. */
export interface EntropyControllerState {
  coefficient: number;
  /** The entropy measured at the last update; `null` before the first (JSON has no Infinity). */
  lastEntropy: number | null;
}

/**
 * Adaptive entropy bonus (Skywork-OR1, He et al. 2025; TRL
 * `use_adaptive_entropy`): call {@link update} with the mean per-token
 * entropy after each optimizer step and pass {@link coefficient} as the
 * objective's `entropyCoefficient` (`objective.compute(inputs,
 * { entropyCoefficient })`).
 *
 * `c <- min(c + delta, max)` if `H <= target`, else `max(c - delta, min)`;
 * the applied coefficient is `c` while the last `H <= target`, else 0, so the
 * bonus is an entropy floor that grows while the entropy stays under it.
 * Before the first update nothing is applied (TRL starts from `H = inf`).
 *
 * @example
 * ```ts
 * const controller = createAdaptiveEntropyController({ initialCoefficient: 0.01, target: 0.5 });
 * controller.update(0.3); // below the target: c = 0.015, applied
 * controller.coefficient; // 0.015
 * ```
 */
export class AdaptiveEntropyController {
  readonly options: Required<AdaptiveEntropyControllerOptions>;
  #coefficient: number;
  #lastEntropy = Number.POSITIVE_INFINITY;

  constructor(options: AdaptiveEntropyControllerOptions = {}) {
    this.options = parseWithSchema(
      AdaptiveEntropyControllerOptionsSchema,
      options,
      'adaptive entropy controller options',
    ) as Required<AdaptiveEntropyControllerOptions>;
    this.#coefficient = this.options.initialCoefficient;
  }

  /** The coefficient to apply now: the running coefficient if the last entropy was at or below the target, else 0. */
  get coefficient(): number {
    return this.#lastEntropy <= this.options.target ? this.#coefficient : 0;
  }

  /** The running coefficient, applied or not. */
  get runningCoefficient(): number {
    return this.#coefficient;
  }

  /** Records the mean per-token entropy of the last optimizer step and moves the coefficient; returns the applied one. */
  update(entropy: number): number {
    if (typeof entropy !== 'number' || !Number.isFinite(entropy) || entropy < 0) {
      throw new InvalidArgumentError({
        argument: 'entropy',
        value: entropy,
        message: 'must be a finite number >= 0 (the mean per-token entropy, in nats)',
      });
    }
    const { target, delta, min, max } = this.options;
    this.#coefficient =
      entropy <= target
        ? Math.min(this.#coefficient + delta, max)
        : Math.max(this.#coefficient - delta, min);
    this.#lastEntropy = entropy;
    return this.coefficient;
  }

  getState(): EntropyControllerState {
    return {
      coefficient: this.#coefficient,
      lastEntropy: Number.isFinite(this.#lastEntropy) ? this.#lastEntropy : null,
    };
  }

  setState(state: EntropyControllerState): void {
    const { coefficient, lastEntropy } = state ?? ({} as EntropyControllerState);
    if (typeof coefficient !== 'number' || !Number.isFinite(coefficient) || coefficient < 0) {
      throw new InvalidArgumentError({
        argument: 'state.coefficient',
        value: coefficient,
        message: 'must be a finite number >= 0',
      });
    }
    if (
      lastEntropy !== null &&
      !(typeof lastEntropy === 'number' && Number.isFinite(lastEntropy))
    ) {
      throw new InvalidArgumentError({
        argument: 'state.lastEntropy',
        value: lastEntropy,
        message: 'must be a finite number or null',
      });
    }
    this.#coefficient = coefficient;
    this.#lastEntropy = lastEntropy ?? Number.POSITIVE_INFINITY;
  }
}

/** Creates an {@link AdaptiveEntropyController}, validating its options (defaults: TRL's). */
export function createAdaptiveEntropyController(
  options: AdaptiveEntropyControllerOptions = {},
): AdaptiveEntropyController {
  return new AdaptiveEntropyController(options);
}
