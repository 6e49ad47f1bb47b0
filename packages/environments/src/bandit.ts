import { InvalidArgumentError, parseWithSchema, Random, type RandomState } from '@cohort/core';
import { type BanditOptions, type BanditOptionsInput, BanditOptionsSchema } from './bandit-options';

/** The complete state of a {@link Bandit}, JSON-serializable, for checkpoints. */
export interface BanditState {
  armMeans: number[];
  pullCount: number;
  stepCount: number;
  driftCount: number;
  random: RandomState;
}

/**
 * A multi-armed bandit, stationary or drifting: the smallest test of a policy
 * optimizer.
 *
 * Arm `a` pays `mu_a + noiseStd * N(0, 1)` (Gaussian) or `1` with probability
 * `mu_a`, else `0` (Bernoulli). Reward noise is drawn from the `random` passed
 * to `pull`, drift from the bandit's own stream seeded by `seed`, so a drifting
 * bandit changes the same way whatever the policy does with its randomness.
 * Drift happens after the pull (or tick) that completes each `every`.
 *
 * @example
 * ```ts
 * const bandit = createBandit({ armMeans: [0.1, 0.5, 0.9], noise: 'bernoulli', seed: 3 });
 * const random = new Random(1);
 * const reward = bandit.pull(2, random); // 1 with probability 0.9
 * bandit.bestArm(); // 2
 * ```
 */
export class Bandit {
  readonly options: BanditOptions;
  private means: number[];
  private random: Random;
  private pulls = 0;
  private steps = 0;
  private drifts = 0;

  constructor(options: BanditOptionsInput) {
    this.options = parseWithSchema(BanditOptionsSchema, options, 'bandit options');
    this.means = [...this.options.armMeans];
    this.random = new Random(this.options.seed).fork('bandit-drift');
  }

  /** Number of arms. */
  get armCount(): number {
    return this.means.length;
  }

  /** Pulls so far. */
  get pullCount(): number {
    return this.pulls;
  }

  /** Ticks so far (see {@link Bandit.tick}). */
  get stepCount(): number {
    return this.steps;
  }

  /** Drift events so far. */
  get driftCount(): number {
    return this.drifts;
  }

  /** Pulls `arm` (0-based) and returns its reward; may then drift. */
  pull(arm: number, random: Random): number {
    if (!Number.isInteger(arm) || arm < 0 || arm >= this.means.length) {
      throw new InvalidArgumentError({
        argument: 'arm',
        value: arm,
        message: `must be an integer in [0, ${this.means.length - 1}]`,
      });
    }
    if (typeof (random as Partial<Random> | undefined)?.normal !== 'function') {
      throw new InvalidArgumentError({
        argument: 'random',
        value: random,
        message: 'must be a Random',
      });
    }
    const mean = this.means[arm]!;
    const reward =
      this.options.noise === 'bernoulli'
        ? random.bernoulli(mean)
          ? 1
          : 0
        : mean + this.options.noiseStd * random.normal();
    this.pulls += 1;
    const drift = this.options.drift;
    if (drift && drift.clock === 'pulls' && this.pulls % drift.every === 0) this.applyDrift();
    return reward;
  }

  /** Advances the step clock by one (one training step); drifts when `drift.clock` is `steps`. */
  tick(): void {
    this.steps += 1;
    const drift = this.options.drift;
    if (drift && drift.clock === 'steps' && this.steps % drift.every === 0) this.applyDrift();
  }

  /** The arms' means now. */
  armMeans(): number[] {
    return [...this.means];
  }

  /** Index of the arm with the highest mean now (the lowest index among ties). */
  bestArm(): number {
    let best = 0;
    for (let arm = 1; arm < this.means.length; arm++)
      if (this.means[arm]! > this.means[best]!) best = arm;
    return best;
  }

  /** The highest arm mean now. */
  bestArmMean(): number {
    return this.means[this.bestArm()]!;
  }

  /** Expected loss of pulling `arm` now: `max_a mu_a - mu_arm`. */
  regret(arm: number): number {
    if (!Number.isInteger(arm) || arm < 0 || arm >= this.means.length) {
      throw new InvalidArgumentError({
        argument: 'arm',
        value: arm,
        message: `must be an integer in [0, ${this.means.length - 1}]`,
      });
    }
    return this.bestArmMean() - this.means[arm]!;
  }

  /** Everything needed to continue exactly, as plain data. */
  getState(): BanditState {
    return {
      armMeans: [...this.means],
      pullCount: this.pulls,
      stepCount: this.steps,
      driftCount: this.drifts,
      random: this.random.getState(),
    };
  }

  /** Restores a state saved by {@link Bandit.getState}. */
  setState(state: BanditState): void {
    if (!Array.isArray(state?.armMeans) || state.armMeans.length !== this.means.length) {
      throw new InvalidArgumentError({
        argument: 'state.armMeans',
        value: state?.armMeans,
        message: `must hold ${this.means.length} means`,
      });
    }
    this.means = [...state.armMeans];
    this.pulls = state.pullCount;
    this.steps = state.stepCount;
    this.drifts = state.driftCount;
    this.random = Random.fromState(state.random);
  }

  private applyDrift(): void {
    const drift = this.options.drift!;
    this.drifts += 1;
    if (drift.kind === 'swap') {
      if (this.means.length < 2) return;
      const best = this.bestArm();
      let other = this.random.int(0, this.means.length - 1);
      if (other >= best) other += 1;
      [this.means[best], this.means[other]] = [this.means[other]!, this.means[best]!];
      return;
    }
    this.means = this.means.map((mean) => {
      const moved = mean + this.random.normal(0, drift.scale);
      if (this.options.noise !== 'bernoulli') return moved;
      // Reflect at the walls so that a walk stays a probability without sticking to 0 or 1.
      const reflected = moved < 0 ? -moved : moved > 1 ? 2 - moved : moved;
      return Math.min(1, Math.max(0, reflected));
    });
  }
}

/** Creates a {@link Bandit}. */
export function createBandit(options: BanditOptionsInput): Bandit {
  return new Bandit(options);
}
