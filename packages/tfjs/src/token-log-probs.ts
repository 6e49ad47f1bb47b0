import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import type { CausalLanguageModel } from './causal-language-model';
import { reshapeView } from './reshape-view';
import { selectedLogProbs } from './selected-log-probs';

/** Options of {@link tokenLogProbs}. */
export interface TokenLogProbsOptions {
  /** Token ids of each sequence (prompt and completion); lengths may differ. */
  sequences: readonly (readonly number[])[];
  /** Divides the logits before the softmax. Must be positive. Default 1. */
  temperature?: number;
  /** Also compute the entropy of each predictive distribution. Default false. */
  withEntropy?: boolean;
  /**
   * Where the padding of shorter sequences goes. `'right'` (default): sequence
   * `b` occupies columns `0 .. length_b - 1`. `'left'`: it occupies the last
   * `length_b` columns, its position ids start at 0 at its first real token
   * and padding is masked out of attention (the layout of batched prompts).
   */
  padding?: 'right' | 'left';
  /** Id written into padding positions. Default: the model's `eosTokenId`. */
  padTokenId?: number;
  /** Also return the final hidden states `[B, T, E]` (for a value head). */
  returnHiddenStates?: boolean;
}

/** Result of {@link tokenLogProbs}; the caller owns every tensor. */
export interface TokenLogProbsResult {
  /**
   * `[B, T]`: column `t` holds `log p(x_t | x_<t)` for the token in that column,
   * 0 for the first token of each sequence and for padding.
   */
  logProbs: tf.Tensor2D;
  /** `[B, T]`: entropy of the distribution that predicted column `t` (0 where `logProbs` is). */
  entropy?: tf.Tensor2D;
  /** `[B, T]`: 1 where column `t` holds a real token with a prediction (not the first, not padding). */
  mask: tf.Tensor2D;
  /** `[B, T, E]`, when `returnHiddenStates` was set. */
  hiddenStates?: tf.Tensor3D;
  /** The padded token ids, `[B][T]`, in the layout of the outputs. */
  paddedTokenIds: number[][];
}

/**
 * Per-token log-probabilities (and optionally entropies) of given sequences
 * under a causal LM (`GptModel`, `LlamaModel`), differentiable with respect to the model's weights:
 *
 * `logProbs[b, t] = log_softmax(z[b, t-1] / temperature)[x[b, t]]` and
 * `entropy[b, t] = -sum_v p_v log p_v` with `p = softmax(z[b, t-1] / temperature)`,
 * computed with the stable `logSoftmax` (log-sum-exp with the maximum subtracted).
 *
 * @example
 * ```ts
 * const { logProbs, mask } = tokenLogProbs(model, { sequences: [[1, 2, 3], [4, 5]] });
 * const loss = logProbs.sum().neg().div(mask.sum()); // mean negative log-likelihood
 * ```
 */
export function tokenLogProbs(
  model: CausalLanguageModel,
  options: TokenLogProbsOptions,
): TokenLogProbsResult {
  const { sequences, temperature = 1, withEntropy = false, padding = 'right' } = options;
  const { vocabSize } = model.config;
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      value: temperature,
      message: 'must be a finite positive number',
    });
  }
  if (sequences.length === 0) {
    throw new InvalidArgumentError({
      argument: 'sequences',
      value: sequences,
      message: 'must hold at least one sequence',
    });
  }
  const padTokenId = options.padTokenId ?? model.config.eosTokenId;
  const width = Math.max(...sequences.map((sequence) => sequence.length));
  sequences.forEach((sequence, index) => {
    if (sequence.length === 0) {
      throw new InvalidArgumentError({
        argument: `sequences[${index}]`,
        value: sequence,
        message: 'must hold at least one token',
      });
    }
  });
  const batchSize = sequences.length;
  const paddedTokenIds: number[][] = [];
  const attentionMask: number[][] = [];
  const positionIds: number[][] = [];
  const maskValues = new Float32Array(batchSize * width);
  sequences.forEach((sequence, b) => {
    const start = padding === 'left' ? width - sequence.length : 0;
    const ids = new Array<number>(width).fill(padTokenId);
    const real = new Array<number>(width).fill(0);
    const positions = new Array<number>(width).fill(0);
    sequence.forEach((id, index) => {
      ids[start + index] = id;
      real[start + index] = 1;
      positions[start + index] = index;
      if (index > 0) maskValues[b * width + start + index] = 1;
    });
    paddedTokenIds.push(ids);
    attentionMask.push(real);
    positionIds.push(positions);
  });
  // Row (b, t) of the logits predicts column t + 1; the last column predicts nothing (target 0, masked).
  const targets = new Int32Array(batchSize * width);
  paddedTokenIds.forEach((ids, b) => {
    for (let t = 1; t < width; t++) targets[b * width + t - 1] = ids[t] as number;
  });
  const tensors = tf.tidy(() => {
    const { logits, presentKeyValues, hiddenStates } = model.forward(paddedTokenIds, {
      positionIds,
      attentionMask,
      returnHiddenStates: options.returnHiddenStates === true,
    });
    for (const { key, value } of presentKeyValues) tf.dispose([key, value]);
    const mask = tf.tensor2d(maskValues, [batchSize, width]);
    // A view whose gradient saves nothing: the logits need not outlive the loss's own saved values.
    const flat = reshapeView<tf.Rank.R2>(logits, [batchSize * width, vocabSize]);
    const selected = selectedLogProbs(
      temperature === 1 ? flat : (flat.div(temperature) as tf.Tensor2D),
      targets,
      { withEntropy },
    );
    // Shift right by one column: column t holds the prediction of token t.
    const shifted = (perRow: tf.Tensor1D): tf.Tensor =>
      width === 1
        ? tf.zeros([batchSize, 1])
        : tf.concat(
            [
              tf.zeros([batchSize, 1]),
              perRow.reshape([batchSize, width]).slice([0, 0], [batchSize, width - 1]),
            ],
            1,
          );
    const logProbs = shifted(selected.logProbs);
    const entropy = selected.entropy === undefined ? undefined : shifted(selected.entropy);
    return {
      logProbs: logProbs.mul(mask),
      ...(entropy ? { entropy: entropy.mul(mask) } : {}),
      mask,
      ...(hiddenStates ? { hiddenStates } : {}),
    } as unknown as tf.TensorContainerObject;
  }) as unknown as Omit<TokenLogProbsResult, 'paddedTokenIds'>;
  return { ...tensors, paddedTokenIds };
}
