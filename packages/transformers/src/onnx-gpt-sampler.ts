import {
  assertInteger,
  InvalidArgumentError,
  type SampledCompletion,
  type Tokenizer,
} from '@cohort/core';
import { tokenLogProbs } from '@cohort/tfjs';
import type * as ort from 'onnxruntime-node';
import {
  cacheLayout,
  createDecoderSession,
  defaultIntraOpThreads,
  exportDecoder,
  type OnnxExportableModel,
  type OnnxPastKeyValues,
  runDecoder,
} from './onnx-decoder-session';
import {
  emptyPrefixCacheStats,
  PrefixCache,
  type PrefixCacheStats,
  prefixCachingStepper,
} from './onnx-prefix-cache';
import { type NextTokenStepper, runSamplingLoop, type SamplingLoopRequest } from './sampling-loop';

export type { OnnxExportableModel } from './onnx-decoder-session';

/** Options of {@link createOnnxGptSampler}. */
export interface OnnxGptSamplerOptions {
  /** The trainable tfjs policy model whose weights are sampled (GPT-2, or Llama-family with LoRA merged at export). */
  model: OnnxExportableModel;
  tokenizer: Tokenizer;
  /** Rows (prompts x group) per forward pass. Default 16. */
  batchSize?: number;
  /**
   * ONNX Runtime threads per forward pass, the calling thread included; 0:
   * ONNX Runtime's default, one per core with the extra threads pinned to
   * cores. Default: 1 under 5M parameters, else 0 (`defaultIntraOpThreads`,
   * measured in bench/onnx-threads.ts).
   */
  intraOpNumThreads?: number;
  /**
   * Keep the keys and values of each call's sequences and start a later
   * call's prompt from the longest of them it begins with, so that a
   * multi-turn rollout runs only each turn's new tokens (cleared on every
   * refresh). Default true.
   */
  reusePrefixes?: boolean;
}

/** Largest and mean `|logp_onnx - logp_tfjs|` over the sampled tokens. */
export interface LogProbMismatch {
  max: number;
  mean: number;
  tokenCount: number;
}

/** A {@link NextTokenStepper} over an ONNX Runtime session of the exported graph, with its key/value cache. */
function sessionStepper(
  session: ort.InferenceSession,
  model: OnnxExportableModel,
): NextTokenStepper {
  let past: OnnxPastKeyValues | undefined;
  const run = async (input: {
    tokenIds: number[][];
    attentionMask: number[][];
    positionIds: number[][];
  }): Promise<Float32Array> => {
    const output = await runDecoder({
      session,
      model,
      ...input,
      ...(past === undefined ? {} : { past }),
    });
    past = output.present;
    // The sampler's graph outputs the last position's logits only: `[B, 1, V]` is already `[B, V]`.
    return output.logits;
  };
  return { start: run, step: run };
}

/**
 * Samples a trainable tfjs {@link GptModel} or {@link LlamaModel} on ONNX Runtime (onnxruntime-node):
 * {@link refresh} exports the model's current weights to an ONNX graph
 * ({@link exportGpt2ToOnnx} or {@link exportLlamaToOnnx}, LoRA merged) and opens a session, which is the policy version
 * that {@link sample} then uses, with the same sampling loop, stop handling
 * and log-prob convention as {@link TransformersSampler} (ids kept exactly as
 * sampled; each token's log-probability under the temperature-scaled full
 * distribution). Call `refresh()` after every optimizer step whose weights
 * should be sampled; `version` counts the refreshes.
 *
 * ONNX Runtime and tfjs round differently in float32, so the behaviour
 * log-probs differ slightly from the learner's; {@link logProbMismatch}
 * measures it so a trainer can report it (or recompute the old-policy
 * log-probs with the learner, as verl does).
 *
 * @example
 * ```ts
 * const sampler = await createOnnxGptSampler({ model: policy.model, tokenizer });
 * const completions = await sampler.sample({ prompts: [prompt], groupSize: 4, maxNewTokens: 40, seed: 1, stopTokenIds: [tokenizer.eosTokenId] });
 * const { max, mean } = sampler.logProbMismatch({ prompts: [prompt], groupSize: 4, completions });
 * ```
 */
export class OnnxGptSampler {
  readonly model: OnnxExportableModel;
  readonly tokenizer: Tokenizer;
  private readonly batchSize: number;
  /** ONNX Runtime threads of the session (0: ONNX Runtime's default). */
  readonly intraOpNumThreads: number;
  /** The cache of the last call's sequences (undefined with `reusePrefixes: false`). */
  private readonly prefixCache: PrefixCache | undefined;
  private session: ort.InferenceSession | undefined;
  private refreshCount = 0;
  /** Seconds the last {@link refresh} took (export and session creation). */
  lastRefreshSeconds = 0;

  constructor(options: OnnxGptSamplerOptions) {
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    this.batchSize = options.batchSize ?? 16;
    assertInteger('batchSize', this.batchSize, 1);
    this.intraOpNumThreads =
      options.intraOpNumThreads ?? defaultIntraOpThreads(this.model, 'sampler');
    assertInteger('intraOpNumThreads', this.intraOpNumThreads, 0);
    this.prefixCache =
      (options.reusePrefixes ?? true) ? new PrefixCache(cacheLayout(this.model)) : undefined;
  }

  /** Lookups of the prefix cache since the sampler was made (zeros without `reusePrefixes`). */
  get prefixCacheStats(): PrefixCacheStats {
    return this.prefixCache?.stats ?? emptyPrefixCacheStats();
  }

  /** Number of {@link refresh} calls so far (each opened a session on the weights of that moment). */
  get version(): number {
    return this.refreshCount;
  }

  /** Exports the model's current weights and opens a new session on them. */
  async refresh(): Promise<void> {
    const started = performance.now();
    // Only the next token's logits: the head and the copy out of the session run on one position per row.
    const session = await createDecoderSession(
      exportDecoder(this.model, 'merged', { lastPositionOnly: true }),
      { intraOpNumThreads: this.intraOpNumThreads },
    );
    await this.session?.release();
    this.session = session;
    // Cached keys and values belong to the old weights.
    this.prefixCache?.clear();
    this.refreshCount++;
    this.lastRefreshSeconds = (performance.now() - started) / 1000;
  }

  /** Samples `groupSize` completions per prompt, prompt-major, from the last refreshed weights. */
  async sample(request: SamplingLoopRequest): Promise<SampledCompletion[]> {
    const session = this.session;
    if (session === undefined) {
      throw new InvalidArgumentError({
        argument: 'sampler',
        value: 'not refreshed',
        message: 'call refresh() before sample() so a policy version exists',
      });
    }
    const cache = this.prefixCache;
    cache?.nextCall();
    const model = this.model;
    return runSamplingLoop({
      request,
      tokenizer: this.tokenizer,
      vocabSize: model.config.vocabSize,
      maxPositions: model.config.contextLength,
      batchSize: this.batchSize,
      createStepper: () =>
        cache === undefined
          ? sessionStepper(session, model)
          : prefixCachingStepper((input) => runDecoder({ session, model, ...input }), cache),
    });
  }

  /**
   * `max` and `mean` of `|logp_onnx - logp_tfjs|` over every sampled token,
   * with `logp_tfjs` recomputed by the tfjs model (its current weights) on
   * prompt + completion at the sampling temperature.
   */
  logProbMismatch(options: {
    prompts: readonly (readonly number[])[];
    completions: readonly SampledCompletion[];
    temperature?: number;
  }): LogProbMismatch {
    const withTokens = options.completions.filter((completion) => completion.tokenIds.length > 0);
    if (withTokens.length === 0) return { max: 0, mean: 0, tokenCount: 0 };
    const sequences = withTokens.map((completion) => {
      const prompt = options.prompts[completion.promptIndex];
      if (prompt === undefined) {
        throw new InvalidArgumentError({
          argument: 'completions[].promptIndex',
          value: completion.promptIndex,
          message: `must index prompts (length ${options.prompts.length})`,
        });
      }
      return [...prompt, ...completion.tokenIds];
    });
    const { logProbs, mask } = tokenLogProbs(this.model, {
      sequences,
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
    });
    const values = logProbs.arraySync();
    mask.dispose();
    logProbs.dispose();
    let max = 0;
    let total = 0;
    let count = 0;
    withTokens.forEach((completion, row) => {
      const start = (sequences[row] as number[]).length - completion.tokenIds.length;
      completion.logProbsPerToken.forEach((logProb, index) => {
        const difference = Math.abs(logProb - (values[row]?.[start + index] as number));
        max = Math.max(max, difference);
        total += difference;
        count++;
      });
    });
    return { max, mean: total / count, tokenCount: count };
  }

  /** Releases the session. */
  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }
}

/**
 * Creates an {@link OnnxGptSampler} and exports the model's current weights (version 1).
 *
 * @example
 * ```ts
 * const sampler = await createOnnxGptSampler({ model, tokenizer, batchSize: 8 });
 * ```
 */
export async function createOnnxGptSampler(
  options: OnnxGptSamplerOptions,
): Promise<OnnxGptSampler> {
  const sampler = new OnnxGptSampler(options);
  await sampler.refresh();
  return sampler;
}
