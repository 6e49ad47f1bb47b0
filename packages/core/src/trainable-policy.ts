import type { Policy, ReferenceModel } from './policy';

/**
 * A policy a trainer can update and checkpoint: a {@link Policy} whose weights
 * can be read and written, with stably named variables.
 *
 * Guarantees: `namedVariables()` keys equal `getWeights()` keys and survive a
 * restart (so optimizer state saved in a checkpoint matches again);
 * `setWeights(getWeights())` changes nothing.
 *
 * @typeParam TensorType - the runtime's tensor type (for tfjs, `tf.Tensor`).
 * @typeParam VariableType - the runtime's variable type (for tfjs, `tf.Variable`).
 * @typeParam Weights - the plain-memory weight format (for tfjs, `WeightMap`).
 */
export interface TrainablePolicy<TensorType = unknown, VariableType = unknown, Weights = unknown>
  extends Policy<TensorType, VariableType> {
  /** Raised by the trainer after every applied update. */
  version: number;
  namedVariables(): Record<string, VariableType>;
  getWeights(): Weights;
  setWeights(weights: Weights): void;
  /**
   * Called with a batch's sequences before `tokenLogProbs` sees them, for
   * policies that must do async work first (the proxy-tuned policy runs its
   * frozen ONNX base there; `tokenLogProbs` itself is synchronous).
   */
  prepare?(request: { sequences: readonly (readonly number[])[] }): Promise<void>;
}

/** A reference model whose weights the trainer can refresh from the policy (a frozen copy, not a fixed base). */
export interface RefreshableReferenceModel<Weights = unknown> extends ReferenceModel {
  getWeights(): Weights;
  setWeights(weights: Weights): void;
}

/** What one optimizer step did. */
export interface OptimizerStepResult {
  gradNorm: number;
  learningRate: number;
  /** True when a non-finite gradient made the step skip: the weights did not change. */
  skipped: boolean;
}

/**
 * The optimizer a trainer drives: gradients by variable name in, weights
 * updated in place. Guarantees: a non-finite gradient leaves every weight
 * unchanged and reports `skipped: true`; `setState(getState())` resumes exactly.
 */
export interface PolicyOptimizer<TensorType = unknown> {
  applyGradients(gradients: Record<string, TensorType>): OptimizerStepResult;
  getState(): unknown;
  setState(state: unknown): void;
}
