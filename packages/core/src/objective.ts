/**
 * Inputs of a policy-gradient objective, as tensors of one runtime. All
 * per-token tensors are `[batch, maxLength]` and aligned with the sequences.
 */
export interface ObjectiveInput<TensorType> {
  /** Current policy log-probs, with gradient. */
  logProbs: TensorType;
  /** Log-probs of the policy that sampled the tokens. */
  oldLogProbs: TensorType;
  /** Advantages, `[batch]` (per sequence) or `[batch, maxLength]` (per token). */
  advantages: TensorType;
  /** 1 on tokens the policy sampled and that count in the loss, else 0. */
  lossMask: TensorType;
  /** Frozen reference log-probs, for the KL penalty. */
  refLogProbs?: TensorType;
  /** Entropy of the current policy per position, for the entropy bonus. */
  entropy?: TensorType;
}

/**
 * Diagnostics of one objective call, as plain numbers. The names below are the
 * ones the trainer reports in its step metrics; an objective may add others,
 * which the trainer averages and reports under `objectiveMetrics`.
 */
export interface ObjectiveMetrics {
  /** Mean entropy of the current policy over the masked tokens. */
  entropy?: number;
  /** Fraction of masked tokens whose ratio was clipped below / above. */
  clipFractionLow?: number;
  clipFractionHigh?: number;
  /** Estimate of KL(old || current) over the masked tokens. */
  approxKlToOld?: number;
  [name: string]: number | undefined;
}

/** The loss to minimize, with diagnostics as plain numbers. */
export interface ObjectiveOutput<TensorType> {
  loss: TensorType;
  metrics: ObjectiveMetrics;
}

/** What the trainer knows at each call and the objective may use. */
export interface ObjectiveContext {
  /** The KL coefficient of this call (an adaptive controller changes it between steps). */
  klCoefficient?: number;
}

/**
 * A surrogate objective. Guarantees: `loss` is a scalar tensor, differentiable
 * with respect to `logProbs` (and `entropy`); positions with mask 0 contribute
 * nothing; a batch whose mask is all 0 gives loss 0, never NaN.
 */
export interface Objective<TensorType = unknown> {
  readonly name: string;
  compute(
    input: ObjectiveInput<TensorType>,
    context?: ObjectiveContext,
  ): ObjectiveOutput<TensorType>;
}
