import {
  assertInteger,
  InvalidArgumentError,
  type SampledCompletion,
  type Tokenizer,
} from '@cohort/core';
import {
  exportGpt2ToOnnx,
  exportLlamaToOnnx,
  type GptModel,
  LlamaModel,
  tokenLogProbs,
} from '@cohort/tfjs';
import * as ort from 'onnxruntime-node';
import {
  lastPositionLogits,
  type NextTokenStepper,
  runSamplingLoop,
  type SamplingLoopRequest,
} from './sampling-loop';

/** A trainable tfjs model that {@link OnnxGptSampler} can export: GPT-2 or the Llama family. */
export type OnnxExportableModel = GptModel | LlamaModel;

/** Options of {@link createOnnxGptSampler}. */
export interface OnnxGptSamplerOptions {
  /** The trainable tfjs policy model whose weights are sampled (GPT-2, or Llama-family with LoRA merged at export). */
  model: OnnxExportableModel;
  tokenizer: Tokenizer;
  /** Rows (prompts x group) per forward pass. Default 16. */
  batchSize?: number;
}

/** Largest and mean `|logp_onnx - logp_tfjs|` over the sampled tokens. */
export interface LogProbMismatch {
  max: number;
  mean: number;
  tokenCount: number;
}

function int64(rows: readonly (readonly number[])[]): ort.Tensor {
  const width = rows[0]?.length ?? 0;
  const values = new BigInt64Array(rows.length * width);
  rows.forEach((row, b) => {
    row.forEach((value, t) => {
      values[b * width + t] = BigInt(value);
    });
  });
  return new ort.Tensor('int64', values, [rows.length, width]);
}

/** The layout of a model's ONNX key/value cache: `[batch, cacheHeads, past, headSize]` per layer. */
function cacheLayout(model: OnnxExportableModel): {
  layerCount: number;
  cacheHeads: number;
  headSize: number;
} {
  if (model instanceof LlamaModel) {
    const { layerCount, keyValueHeadCount, headSize } = model.config;
    return { layerCount, cacheHeads: keyValueHeadCount, headSize };
  }
  const { layerCount, headCount, embeddingSize } = model.config;
  return { layerCount, cacheHeads: headCount, headSize: embeddingSize / headCount };
}

/** The model's current weights as an ONNX graph (Llama-family adapters merged). */
function exportModel(model: OnnxExportableModel): Uint8Array {
  if (model instanceof LlamaModel) {
    return exportLlamaToOnnx({
      config: model.config,
      weights: model.toWeightMap({ merged: true }),
    });
  }
  return exportGpt2ToOnnx({ config: model.config, weights: model.toWeightMap() });
}

/** A {@link NextTokenStepper} over an ONNX Runtime session of the exported graph, with its key/value cache. */
function sessionStepper(
  session: ort.InferenceSession,
  model: OnnxExportableModel,
): NextTokenStepper {
  const { layerCount, cacheHeads, headSize } = cacheLayout(model);
  const { vocabSize } = model.config;
  let past: Record<string, ort.Tensor> | undefined;
  const run = async (input: {
    tokenIds: number[][];
    attentionMask: number[][];
    positionIds: number[][];
  }): Promise<Float32Array> => {
    const rows = input.tokenIds.length;
    const length = input.tokenIds[0]?.length ?? 0;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(input.tokenIds),
      attention_mask: int64(input.attentionMask),
      position_ids: int64(input.positionIds),
    };
    for (let layer = 0; layer < layerCount; layer++) {
      for (const part of ['key', 'value']) {
        const name = `past_key_values.${layer}.${part}`;
        feeds[name] =
          past?.[name] ??
          new ort.Tensor('float32', new Float32Array(0), [rows, cacheHeads, 0, headSize]);
      }
    }
    const outputs = await session.run(feeds);
    const next: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < layerCount; layer++) {
      for (const part of ['key', 'value']) {
        next[`past_key_values.${layer}.${part}`] = outputs[
          `present.${layer}.${part}`
        ] as ort.Tensor;
      }
    }
    past = next;
    return lastPositionLogits(
      (outputs.logits as ort.Tensor).data as Float32Array,
      rows,
      length,
      vocabSize,
    );
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
  private session: ort.InferenceSession | undefined;
  private refreshCount = 0;
  /** Seconds the last {@link refresh} took (export and session creation). */
  lastRefreshSeconds = 0;

  constructor(options: OnnxGptSamplerOptions) {
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    this.batchSize = options.batchSize ?? 16;
    assertInteger('batchSize', this.batchSize, 1);
  }

  /** Number of {@link refresh} calls so far: the policy version that {@link sample} uses. */
  get version(): number {
    return this.refreshCount;
  }

  /** Exports the model's current weights and opens a new session on them. */
  async refresh(): Promise<void> {
    const started = performance.now();
    const bytes = exportModel(this.model);
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
    await this.session?.release();
    this.session = session;
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
    return runSamplingLoop({
      request,
      tokenizer: this.tokenizer,
      vocabSize: this.model.config.vocabSize,
      maxPositions: this.model.config.contextLength,
      batchSize: this.batchSize,
      createStepper: () => sessionStepper(session, this.model),
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
