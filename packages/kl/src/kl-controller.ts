import { InvalidArgumentError, NonFiniteError, parseWithSchema } from '@cohort/core';
import {
  type AdaptiveKlControllerOptions,
  AdaptiveKlControllerOptionsSchema,
  FixedKlControllerOptionsSchema,
  type KlControllerOptions,
  KlControllerOptionsSchema,
} from './kl-controller-options';

/** Serializable state of a KL controller, for checkpoints. */
export type KlControllerState =
  | { type: 'fixed'; coefficient: number }
  | { type: 'adaptive'; coefficient: number; target: number; horizon: number };

/** A source of the KL coefficient beta that may react to the observed KL. */
export interface KlController {
  /** The current coefficient beta. */
  readonly coefficient: number;
  /** Feeds the KL observed over the last `steps` samples; returns the new coefficient. */
  update(observedKl: number, steps: number): number;
  getState(): KlControllerState;
  setState(state: KlControllerState): void;
}

/** The largest proportional error the adaptive controller acts on (Ziegler et al. 2019). */
export const ADAPTIVE_KL_ERROR_CLIP = 0.2;

function validateUpdate(observedKl: number, steps: number, horizon: number | undefined): void {
  if (typeof observedKl !== 'number' || !Number.isFinite(observedKl)) {
    throw new NonFiniteError({
      quantity: 'observedKl',
      value: observedKl,
      context: 'KL controller update',
    });
  }
  if (!(Number.isFinite(steps) && steps > 0)) {
    throw new InvalidArgumentError({
      argument: 'steps',
      value: steps,
      message: 'must be a positive finite number',
    });
  }
  if (horizon !== undefined && steps * ADAPTIVE_KL_ERROR_CLIP >= horizon) {
    throw new InvalidArgumentError({
      argument: 'steps',
      value: steps,
      message: `must be below horizon / ${ADAPTIVE_KL_ERROR_CLIP} = ${horizon / ADAPTIVE_KL_ERROR_CLIP}, or one update could make the coefficient negative`,
    });
  }
}

/**
 * A constant KL coefficient with the {@link KlController} interface;
 * `update` validates its input and changes nothing.
 *
 * @example
 * ```ts
 * const controller = new FixedKlController({ coefficient: 0.04 });
 * controller.update(0.3, 64); // 0.04
 * ```
 */
export class FixedKlController implements KlController {
  #coefficient: number;

  constructor(options: { coefficient: number }) {
    const config = parseWithSchema(
      FixedKlControllerOptionsSchema,
      { type: 'fixed', ...options },
      'fixed KL controller options',
    );
    this.#coefficient = config.coefficient;
  }

  get coefficient(): number {
    return this.#coefficient;
  }

  update(observedKl: number, steps: number): number {
    validateUpdate(observedKl, steps, undefined);
    return this.#coefficient;
  }

  getState(): KlControllerState {
    return { type: 'fixed', coefficient: this.#coefficient };
  }

  setState(state: KlControllerState): void {
    const parsed = parseWithSchema(
      FixedKlControllerOptionsSchema,
      state,
      'fixed KL controller state',
    );
    this.#coefficient = parsed.coefficient;
  }
}

/**
 * The adaptive KL coefficient of Ziegler et al. 2019 ("Fine-Tuning Language
 * Models from Human Preferences", section 2.2):
 * `e = clip(KL / target - 1, -0.2, 0.2)`, `beta <- beta * (1 + e * steps / horizon)`,
 * where `steps` is the number of samples (or steps) that the observed KL covers.
 * One update moves beta by a factor within `1 +/- 0.2 * steps / horizon`.
 *
 * @example
 * ```ts
 * const controller = new AdaptiveKlController({ initialCoefficient: 0.1, target: 6, horizon: 10000 });
 * controller.update(12, 512); // KL too high: beta = 0.1 * (1 + 0.2 * 512 / 10000) = 0.10102
 * ```
 */
export class AdaptiveKlController implements KlController {
  #coefficient: number;
  readonly target: number;
  readonly horizon: number;

  constructor(options: Omit<AdaptiveKlControllerOptions, 'type'>) {
    const config = parseWithSchema(
      AdaptiveKlControllerOptionsSchema,
      { type: 'adaptive', ...options },
      'adaptive KL controller options',
    );
    this.#coefficient = config.initialCoefficient;
    this.target = config.target;
    this.horizon = config.horizon;
  }

  get coefficient(): number {
    return this.#coefficient;
  }

  update(observedKl: number, steps: number): number {
    validateUpdate(observedKl, steps, this.horizon);
    const error = Math.min(
      ADAPTIVE_KL_ERROR_CLIP,
      Math.max(-ADAPTIVE_KL_ERROR_CLIP, observedKl / this.target - 1),
    );
    this.#coefficient *= 1 + (error * steps) / this.horizon;
    return this.#coefficient;
  }

  getState(): KlControllerState {
    return {
      type: 'adaptive',
      coefficient: this.#coefficient,
      target: this.target,
      horizon: this.horizon,
    };
  }

  /** Restores the coefficient; `target` and `horizon` must match this controller's (they come from the config). */
  setState(state: KlControllerState): void {
    if (state.type !== 'adaptive') {
      throw new InvalidArgumentError({
        argument: 'state.type',
        value: state.type,
        message: "must be 'adaptive'",
      });
    }
    const parsed = parseWithSchema(
      AdaptiveKlControllerOptionsSchema,
      {
        type: 'adaptive',
        initialCoefficient: state.coefficient,
        target: state.target,
        horizon: state.horizon,
      },
      'adaptive KL controller state',
    );
    if (parsed.target !== this.target || parsed.horizon !== this.horizon) {
      throw new InvalidArgumentError({
        argument: 'state',
        value: state,
        message: `target and horizon must match the controller's (target ${this.target}, horizon ${this.horizon})`,
      });
    }
    this.#coefficient = parsed.initialCoefficient;
  }
}

/**
 * Builds a KL controller from a config validated by {@link KlControllerOptionsSchema}.
 *
 * @throws ValidationError naming the bad field.
 * @example
 * ```ts
 * const controller = createKlController({ type: 'adaptive', initialCoefficient: 0.05, target: 6, horizon: 10000 });
 * ```
 */
export function createKlController(config: KlControllerOptions): KlController {
  const parsed = parseWithSchema(KlControllerOptionsSchema, config, 'KL controller config');
  if (parsed.type === 'fixed') return new FixedKlController({ coefficient: parsed.coefficient });
  return new AdaptiveKlController({
    initialCoefficient: parsed.initialCoefficient,
    target: parsed.target,
    horizon: parsed.horizon,
  });
}
