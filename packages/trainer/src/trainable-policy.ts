import type { Policy, ReferenceModel } from '@cohort/core';
import type { WeightMap } from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';

/**
 * A policy the trainer can update and checkpoint: the core `Policy` over tfjs
 * tensors, whose weights can be read and written as a {@link WeightMap}.
 */
export interface TrainablePolicy extends Policy<tf.Tensor, tf.Variable> {
  /** Raised by the trainer after every applied update. */
  version: number;
  /**
   * The trainable variables under stable names (the names of `getWeights`),
   * so that optimizer state saved in a checkpoint matches after a restart,
   * when tfjs gives the variables new internal names.
   */
  namedVariables(): Record<string, tf.Variable>;
  getWeights(): WeightMap;
  setWeights(weights: WeightMap): void;
  /**
   * Called with a batch's sequences before `tokenLogProbs` sees them, for
   * policies that must do async work first (the proxy-tuned policy runs its
   * frozen ONNX base there; `tokenLogProbs` itself is synchronous).
   */
  prepare?(request: { sequences: readonly (readonly number[])[] }): Promise<void>;
}

/** A reference model whose weights the trainer can refresh from the policy. */
export interface RefreshableReferenceModel extends ReferenceModel {
  getWeights(): WeightMap;
  setWeights(weights: WeightMap): void;
}

/** True when the reference model can be refreshed (a frozen copy, not a fixed base model). */
export function isRefreshable(model: ReferenceModel): model is RefreshableReferenceModel {
  const candidate = model as Partial<RefreshableReferenceModel>;
  return typeof candidate.getWeights === 'function' && typeof candidate.setWeights === 'function';
}

/** What one optimizer step did. */
export interface OptimizerStepResult {
  gradNorm: number;
  learningRate: number;
  /** True when a non-finite gradient made the step skip: the weights did not change. */
  skipped: boolean;
}

/**
 * The optimizer interface the trainer drives: gradients by variable name in,
 * weights updated in place (or left alone when a gradient is not finite).
 */
export interface PolicyOptimizer {
  applyGradients(gradients: Record<string, tf.Tensor>): OptimizerStepResult;
  getState(): unknown;
  setState(state: unknown): void;
}
