import type { Tokenizer } from './tokenizer';

/**
 * Why a sampled completion stopped: `'eos'`, the end-of-sequence id; `'stop'`,
 * a stop id or stop string; `'length'`, `maxNewTokens` was reached or prompt
 * plus completion filled the model's context (so the sequence stays scorable).
 */
export type FinishReason = 'eos' | 'stop' | 'length';

/** Decoding settings shared by every sampler. */
export interface GenerationOptions {
  /** Most tokens to sample per completion. */
  maxNewTokens: number;
  /** Softmax temperature; 0 means greedy. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: off). */
  topK?: number;
  /** Nucleus sampling: keep the smallest set with this much mass (1 or undefined: off). */
  topP?: number;
  /** Ids that end a completion; the stop id is kept as the last sampled token. */
  stopTokenIds?: readonly number[];
}

/** A request to sample `groupSize` completions for each prompt. */
export interface SampleRequest extends GenerationOptions {
  /** Prompt token ids, one array per prompt (already chat-templated). */
  prompts: readonly (readonly number[])[];
  /** Completions per prompt (G in GRPO). */
  groupSize: number;
  /** Seed for this call; the same seed and weights give the same completions. */
  seed: number;
}

/**
 * The generation record every sampler produces (tfjs `generate`, the
 * transformers.js and ONNX Runtime samplers, the proxy-tuned and test
 * policies): the new tokens exactly as sampled, their log-probs, and why
 * sampling stopped.
 */
export interface SampledTokens {
  /** The sampled ids, never decoded and re-encoded; includes the stop/EOS id when one ended it. */
  tokenIds: number[];
  /**
   * Log-probability of each sampled token under the temperature-scaled full
   * distribution (before top-k/top-p truncation; under `T = 1` when greedy),
   * the same distribution that {@link Policy.tokenLogProbs} computes at that
   * temperature, so importance ratios start at 1.
   */
  logProbsPerToken: number[];
  finishReason: FinishReason;
}

/** One sampled completion of a {@link SampleRequest}: its {@link SampledTokens} and where it stands in the request. */
export interface SampledCompletion extends SampledTokens {
  /** Index of the prompt in the request. */
  promptIndex: number;
  /** Index within the prompt's group, in [0, groupSize). */
  sampleIndex: number;
}

/** Input of {@link Policy.tokenLogProbs}. */
export interface TokenLogProbsRequest {
  /** Full token sequences (prompt and completion), unpadded; the policy pads internally. */
  sequences: readonly (readonly number[])[];
  /** Temperature used when sampling; logits are divided by it. Default 1. */
  temperature?: number;
  /** Also return the entropy of each next-token distribution. */
  withEntropy?: boolean;
}

/**
 * Per-position log-probabilities, as tensors of the policy's runtime, shaped
 * `[batch, maxLength]`: position `t` holds `log pi(token_t | tokens_<t)`;
 * position 0 and padding positions hold 0.
 */
export interface TokenLogProbs<TensorType> {
  logProbs: TensorType;
  /** Entropy of the next-token distribution that produced token t, same layout. */
  entropy?: TensorType;
}

/**
 * A token-level policy: samples completions and scores token sequences with
 * gradient.
 *
 * Guarantees:
 * - `sample` returns `prompts.length * groupSize` completions ordered by
 *   prompt, then sample index; the same seed and weights give the same ids.
 * - `logProbsPerToken` of a sampled completion equals what `tokenLogProbs`
 *   returns for the same tokens at the same temperature (up to float error),
 *   so importance ratios start at 1.
 * - `tokenLogProbs` is differentiable with respect to `trainableVariables()`
 *   when called inside the runtime's gradient scope.
 * - `version` increases whenever the weights change.
 *
 * @typeParam TensorType - the tensor type of the runtime (for tfjs, `tf.Tensor`).
 */
export interface Policy<TensorType = unknown, VariableType = unknown> {
  readonly tokenizer: Tokenizer;
  /** Version of the weights that sampling uses now. */
  readonly version: number;
  sample(request: SampleRequest): Promise<SampledCompletion[]>;
  tokenLogProbs(request: TokenLogProbsRequest): TokenLogProbs<TensorType>;
  trainableVariables(): readonly VariableType[];
}

/**
 * A frozen model that scores token sequences: the reference of the KL term.
 *
 * Guarantees: never changes unless `refresh`ed by its owner; returns one array
 * per sequence, of the sequence's length, with `result[i][t] = log p_ref(token_t | tokens_<t)`
 * and `result[i][0] = 0`.
 */
export interface ReferenceModel {
  referenceLogProbs(request: TokenLogProbsRequest): Promise<number[][]>;
}
