/** Input of an {@link AdvantageEstimator}: one reward per sample, groups contiguous. */
export interface AdvantageInput {
  rewards: readonly number[];
  /** Samples per prompt; `rewards.length` is a multiple of it. */
  groupSize: number;
  /** Baseline values V(s) per sample, for critic-based estimators. */
  values?: readonly number[];
}

/** Output of an {@link AdvantageEstimator}. */
export interface AdvantageResult {
  /** One advantage per sample, in input order. */
  advantages: number[];
  /** Fraction of groups whose rewards have zero spread (no learning signal). */
  zeroSpreadGroupFraction: number;
}

/**
 * Turns rewards into advantages. Implementations are pure: the same input gives
 * the same output, and inputs are never mutated. Non-finite rewards are refused
 * with a `NonFiniteError`.
 */
export interface AdvantageEstimator {
  readonly name: string;
  estimate(input: AdvantageInput): AdvantageResult;
}
