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

/** The loss to minimize, with diagnostics as plain numbers. */
export interface ObjectiveOutput<TensorType> {
  loss: TensorType;
  metrics: Record<string, number>;
}

/**
 * A surrogate objective. Guarantees: `loss` is a scalar tensor, differentiable
 * with respect to `logProbs` (and `entropy`); positions with mask 0 contribute
 * nothing; a batch whose mask is all 0 gives loss 0, never NaN.
 */
export interface Objective<TensorType = unknown> {
  readonly name: string;
  compute(input: ObjectiveInput<TensorType>): ObjectiveOutput<TensorType>;
}
