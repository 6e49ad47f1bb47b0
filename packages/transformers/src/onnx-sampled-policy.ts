import type {
  SampledCompletion,
  SampleRequest,
  Tokenizer,
  TokenLogProbs,
  TokenLogProbsRequest,
  TrainablePolicy,
} from '@cohort/core';
import type { GptPolicy, LlamaPolicy, WeightMap } from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';
import { OnnxGptSampler } from './onnx-gpt-sampler';

/** Options of {@link createOnnxSampledPolicy}. */
export interface OnnxSampledPolicyOptions {
  /** The trainable tfjs policy: it learns, and its current weights are what ONNX Runtime samples. */
  policy: GptPolicy | LlamaPolicy;
  /** Rows (prompts x group) per ONNX forward pass. Default 16. */
  batchSize?: number;
  /**
   * ONNX Runtime threads per forward pass, the calling thread included; 0:
   * ONNX Runtime's default, one per core with the extra threads pinned to
   * cores. Default: 1 under 5M parameters, else 0 (`defaultIntraOpThreads`,
   * measured in bench/onnx-threads.ts).
   */
  intraOpNumThreads?: number;
  /** See `OnnxGptSamplerOptions.reusePrefixes`: each turn of a rollout runs only its new tokens. Default true. */
  reusePrefixes?: boolean;
}

/**
 * The hybrid engine behind the core `TrainablePolicy` protocol: sampling runs
 * on ONNX Runtime ({@link OnnxGptSampler}), everything else (scoring with
 * gradient, variables, weights, `version`) is the wrapped tfjs policy's. Before
 * a `sample` whose policy version (or weights, after `setWeights`) differ from
 * the ones last exported, the current weights are exported again, so rollouts
 * always come from the weights the trainer's version names, as verl syncs its
 * vLLM engine after each update.
 *
 * The completions' token ids, stop handling and chat-template behaviour are the
 * tfjs policy's; their `logProbsPerToken` are ONNX Runtime's, which differ from
 * tfjs's by float32 rounding (about 1e-5): a trainer should recompute the
 * behaviour log-probs with the learner (`GrpoTrainer`'s
 * `recomputeBehaviorLogProbs`), which also reports the mismatch.
 *
 * @example
 * ```ts
 * const policy = await createOnnxSampledPolicy({ policy: new GptPolicy({ model, tokenizer }) });
 * const trainer = new GrpoTrainer({ policy, ..., config: { recomputeBehaviorLogProbs: true } });
 * ```
 */
export class OnnxSampledPolicy implements TrainablePolicy<tf.Tensor, tf.Variable, WeightMap> {
  readonly policy: GptPolicy | LlamaPolicy;
  readonly sampler: OnnxGptSampler;
  /** The policy version the session was last exported at; undefined when weights were replaced since. */
  private exportedVersion: number | undefined;
  /** The policy version of the weights the session holds (kept when weights are replaced, until the next export). */
  private sessionVersion = 0;

  constructor(options: OnnxSampledPolicyOptions) {
    this.policy = options.policy;
    this.sampler = new OnnxGptSampler({
      model: options.policy.model,
      tokenizer: options.policy.tokenizer,
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(options.intraOpNumThreads === undefined
        ? {}
        : { intraOpNumThreads: options.intraOpNumThreads }),
      ...(options.reusePrefixes === undefined ? {} : { reusePrefixes: options.reusePrefixes }),
    });
  }

  /** The wrapped policy's tfjs model (its config names the context length). */
  get model(): GptPolicy['model'] | LlamaPolicy['model'] {
    return this.policy.model;
  }

  get tokenizer(): Tokenizer {
    return this.policy.tokenizer;
  }

  get version(): number {
    return this.policy.version;
  }

  set version(value: number) {
    this.policy.version = value;
  }

  /**
   * The policy version of the weights the sampler holds: the version of the
   * last export. It is the trainer's `samplerVersion` metric, and depends on
   * the policy version alone, so a resumed run reports what an uninterrupted
   * one does (an export count would restart with the process).
   */
  get samplerVersion(): number {
    return this.sessionVersion;
  }

  /** Number of exports this process made; see {@link OnnxGptSampler.version}. */
  get exports(): number {
    return this.sampler.version;
  }

  /** Exports the current weights when the policy moved since the last export. */
  async synchronize(): Promise<void> {
    if (this.exportedVersion === this.policy.version) return;
    await this.sampler.refresh();
    this.exportedVersion = this.policy.version;
    this.sessionVersion = this.policy.version;
  }

  async sample(request: SampleRequest): Promise<SampledCompletion[]> {
    await this.synchronize();
    return this.sampler.sample(request);
  }

  tokenLogProbs(request: TokenLogProbsRequest): TokenLogProbs<tf.Tensor> {
    return this.policy.tokenLogProbs(request);
  }

  trainableVariables(): readonly tf.Variable[] {
    return this.policy.trainableVariables();
  }

  namedVariables(): Record<string, tf.Variable> {
    return this.policy.namedVariables();
  }

  getWeights(): WeightMap {
    return this.policy.getWeights();
  }

  setWeights(weights: WeightMap): void {
    this.policy.setWeights(weights);
    this.exportedVersion = undefined;
  }

  /** Releases the ONNX Runtime session. */
  async dispose(): Promise<void> {
    await this.sampler.dispose();
    this.exportedVersion = undefined;
  }
}

/**
 * Wraps a tfjs policy so that it samples on ONNX Runtime, and exports its
 * current weights once.
 *
 * @example
 * ```ts
 * const policy = await createOnnxSampledPolicy({ policy: gptPolicy, batchSize: 8 });
 * ```
 */
export async function createOnnxSampledPolicy(
  options: OnnxSampledPolicyOptions,
): Promise<OnnxSampledPolicy> {
  const policy = new OnnxSampledPolicy(options);
  await policy.synchronize();
  return policy;
}
