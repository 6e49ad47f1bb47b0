import {
  assertTokenId,
  InvalidArgumentError,
  type Policy,
  parseWithSchema,
  type SampledCompletion,
  type Tokenizer,
  type TokenLogProbs,
  type TokenLogProbsRequest,
} from '@cohort/core';
import type { LayerKeyValue, WeightMap } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { BaseLogitsCache } from './base-logits-cache';
import type { CausalLm } from './causal-lm';
import { DeltaModel } from './delta-model';
import {
  type ProxyTunedPolicyOptions,
  type ProxyTunedPolicyOptionsInput,
  ProxyTunedPolicyOptionsSchema,
} from './proxy-tuned-policy-options';
import { type NextTokenStepper, runSamplingLoop, type SamplingLoopRequest } from './sampling-loop';
import { validateScoringRequest } from './transformers-reference-model';
import { causalLmStepper } from './transformers-sampler';

/** Options of {@link createProxyTunedPolicy}. */
export type CreateProxyTunedPolicyOptions = ProxyTunedPolicyOptionsInput & {
  /** The frozen base model (transformers.js, ONNX Runtime). */
  base: CausalLm;
  tokenizer: Tokenizer;
};

interface PaddedBatch {
  tokenIds: number[][];
  attentionMask: number[][];
  positionIds: number[][];
  width: number;
  targets: Int32Array;
  mask: Float32Array;
  base: Float32Array;
}

/**
 * A proxy-tuned policy (after Liu et al. 2024, "Tuning Language Models by
 * Proxy"): a frozen transformers.js base model plus a small trainable tfjs
 * model whose logits are added to the base's,
 *
 *   `log pi(y | x) = log_softmax((z_base(x) + delta_theta(x)) / T)[y]`,
 *
 * with `delta` from a {@link DeltaModel} whose output layer starts at zero, so
 * that `pi = p_base` exactly at initialization and the base itself is the
 * reference of the KL term. Sampling steps both models with their key/value
 * caches and samples from the sum. `tokenLogProbs` recomputes `delta` with
 * gradient; the base logits are constants read from a bounded cache, filled
 * by `sample` (the rollouts), by {@link ProxyTunedPolicy.prepare}, and by the
 * {@link ProxyReferenceModel} that shares it. Since ONNX Runtime is
 * asynchronous and `tokenLogProbs` is not, a sequence whose base logits are
 * not cached throws, naming it.
 *
 * @example
 * ```ts
 * const { model, tokenizer } = await loadCausalLm({ model: 'models/tiny-chat' });
 * const policy = await createProxyTunedPolicy({ base: model, tokenizer, delta: { embeddingSize: 32, layerCount: 1, headCount: 2 } });
 * const reference = new ProxyReferenceModel({ policy });
 * const rollouts = await policy.sample({ prompts: [prompt], groupSize: 4, maxNewTokens: 16, seed: 1 });
 * ```
 */
export class ProxyTunedPolicy implements Policy<tf.Tensor, tf.Variable> {
  readonly base: CausalLm;
  readonly delta: DeltaModel;
  readonly tokenizer: Tokenizer;
  readonly vocabSize: number;
  /** Base logits by sequence, shared with the {@link ProxyReferenceModel}. */
  readonly baseLogits: BaseLogitsCache;
  version = 0;
  private readonly options: ProxyTunedPolicyOptions;

  constructor(options: {
    base: CausalLm;
    delta: DeltaModel;
    tokenizer: Tokenizer;
    vocabSize: number;
    settings: ProxyTunedPolicyOptions;
  }) {
    if (options.delta.vocabSize !== options.vocabSize) {
      throw new InvalidArgumentError({
        argument: 'delta.vocabSize',
        value: options.delta.vocabSize,
        message: `must equal the base model's vocabulary ${options.vocabSize}`,
      });
    }
    this.base = options.base;
    this.delta = options.delta;
    this.tokenizer = options.tokenizer;
    this.vocabSize = options.vocabSize;
    this.options = options.settings;
    this.baseLogits = new BaseLogitsCache({
      maxBytes: options.settings.cacheMaxBytes,
      vocabSize: options.vocabSize,
    });
  }

  /** Longest sequence both models take. */
  get maxPositions(): number {
    return Math.min(
      this.delta.gpt.config.contextLength,
      this.base.maxPositions ?? Number.POSITIVE_INFINITY,
    );
  }

  async sample(request: SamplingLoopRequest): Promise<SampledCompletion[]> {
    return runSamplingLoop({
      request,
      tokenizer: this.tokenizer,
      vocabSize: this.vocabSize,
      maxPositions: this.maxPositions,
      batchSize: this.options.batchSize,
      createStepper: () => this.createStepper(),
    });
  }

  private createStepper(): NextTokenStepper {
    const record = this.options.cacheRollouts;
    const vocabSize = this.vocabSize;
    let rowsLogits: Float32Array[][] = [];
    let past: LayerKeyValue[] | undefined;
    const base = causalLmStepper(
      this.base,
      record
        ? (logits, input) => {
            const length = input.tokenIds[0]?.length ?? 0;
            if (rowsLogits.length === 0) rowsLogits = input.tokenIds.map(() => []);
            input.tokenIds.forEach((_, b) => {
              // Left padding: the real tokens of row b are its last (mask sum) positions.
              const real = input.attentionMask[b]?.reduce((sum, value) => sum + value, 0) ?? 0;
              const first = rowsLogits[b]?.length === 0 ? length - real : 0;
              rowsLogits[b]?.push(
                logits.slice((b * length + first) * vocabSize, (b + 1) * length * vocabSize),
              );
            });
          }
        : undefined,
    );
    const run = async (input: Parameters<NextTokenStepper['start']>[0], first: boolean) => {
      // ONNX Runtime runs off the main thread: start the base, then compute delta while it runs.
      const basePending = first ? base.start(input) : base.step(input);
      const { delta, presentKeyValues } = this.delta.forward(input.tokenIds, {
        positionIds: input.positionIds,
        attentionMask: input.attentionMask,
        ...(past ? { pastKeyValues: past } : {}),
      });
      if (past) for (const { key, value } of past) tf.dispose([key, value]);
      past = presentKeyValues;
      const [batchSize, length] = delta.shape;
      const last = tf.tidy(() => delta.slice([0, length - 1, 0], [batchSize, 1, vocabSize]));
      const offsets = (await last.data()) as Float32Array;
      tf.dispose([delta, last]);
      const baseLast = await basePending;
      for (let index = 0; index < baseLast.length; index++)
        baseLast[index] = (baseLast[index] as number) + (offsets[index] as number);
      return baseLast;
    };
    return {
      start: (input) => run(input, true),
      step: (input) => run(input, false),
      finish: (rows) => {
        if (past) for (const { key, value } of past) tf.dispose([key, value]);
        past = undefined;
        if (!record) return;
        rows.forEach((tokens, b) => {
          const chunks = rowsLogits[b] ?? [];
          const needed = Math.max(0, tokens.length - 1) * vocabSize;
          const joined = new Float32Array(needed);
          let offset = 0;
          for (const chunk of chunks) {
            if (offset >= needed) break;
            const part = chunk.subarray(0, Math.min(chunk.length, needed - offset));
            joined.set(part, offset);
            offset += part.length;
          }
          if (offset === needed) this.baseLogits.set(tokens, joined);
        });
      },
    };
  }

  /**
   * Computes and caches the base logits of every sequence not cached yet, in
   * batched forward passes. Call it (or score the sequences with the
   * {@link ProxyReferenceModel}) before `tokenLogProbs` on sequences that
   * `sample` did not produce.
   */
  async prepare(request: Pick<TokenLogProbsRequest, 'sequences'>): Promise<void> {
    const missing = request.sequences.filter(
      (sequence) => this.baseLogits.get(sequence) === undefined,
    );
    const unique = [...new Map(missing.map((sequence) => [sequence.join(','), sequence])).values()];
    for (let start = 0; start < unique.length; start += this.options.batchSize) {
      const batch = unique.slice(start, start + this.options.batchSize);
      const { logits } = await this.base.sequenceLogits(batch, this.tokenizer.padTokenId);
      batch.forEach((sequence, index) => {
        this.baseLogits.set(sequence, logits[index] as Float32Array);
      });
    }
  }

  /** The cached base logits of a sequence, or the error that names it. */
  private cachedBaseLogits(sequence: readonly number[], index: number): Float32Array {
    const logits = this.baseLogits.get(sequence);
    if (logits === undefined) {
      throw new InvalidArgumentError({
        argument: `sequences[${index}]`,
        value: sequence,
        message:
          'has no cached base logits; await policy.prepare({ sequences }) (or score it with the ProxyReferenceModel) before tokenLogProbs, or raise cacheMaxBytes',
      });
    }
    return logits;
  }

  private padBatch(sequences: readonly (readonly number[])[]): PaddedBatch {
    const vocabSize = this.vocabSize;
    const width = Math.max(...sequences.map((sequence) => sequence.length));
    const batchSize = sequences.length;
    const targets = new Int32Array(batchSize * Math.max(0, width - 1));
    const mask = new Float32Array(batchSize * Math.max(0, width - 1));
    const base = new Float32Array(batchSize * Math.max(0, width - 1) * vocabSize);
    sequences.forEach((sequence, b) => {
      if (sequence.length > this.maxPositions) {
        throw new InvalidArgumentError({
          argument: `sequences[${b}].length`,
          value: sequence.length,
          message: `exceeds the ${this.maxPositions} positions of the models`,
        });
      }
      sequence.forEach((id, t) => {
        assertTokenId(`sequences[${b}][${t}]`, id, vocabSize);
        if (t > 0) {
          targets[b * (width - 1) + t - 1] = id;
          mask[b * (width - 1) + t - 1] = 1;
        }
      });
      base.set(this.cachedBaseLogits(sequence, b), b * (width - 1) * vocabSize);
    });
    return {
      tokenIds: sequences.map((sequence) => [
        ...sequence,
        ...new Array<number>(width - sequence.length).fill(this.tokenizer.padTokenId),
      ]),
      attentionMask: sequences.map((sequence) =>
        Array.from({ length: width }, (_, t) => (t < sequence.length ? 1 : 0)),
      ),
      positionIds: sequences.map((sequence) =>
        Array.from({ length: width }, (_, t) => (t < sequence.length ? t : 0)),
      ),
      width,
      targets,
      mask,
      base,
    };
  }

  /**
   * `log_softmax((z_base + delta) / T)` at every predicting position, `[B, W - 1, V]`,
   * differentiable in the delta model's variables.
   */
  private logDistributions(batch: PaddedBatch, temperature: number): tf.Tensor3D {
    const batchSize = batch.tokenIds.length;
    const { width } = batch;
    const { delta, presentKeyValues } = this.delta.forward(batch.tokenIds, {
      positionIds: batch.positionIds,
      attentionMask: batch.attentionMask,
    });
    for (const { key, value } of presentKeyValues) tf.dispose([key, value]);
    return tf.tidy(() => {
      const predicting = delta.slice([0, 0, 0], [batchSize, width - 1, this.vocabSize]);
      const base = tf.tensor3d(batch.base, [batchSize, width - 1, this.vocabSize]);
      const logits = base.add(predicting);
      delta.dispose();
      return tf.logSoftmax(temperature === 1 ? logits : logits.div(temperature));
    }) as tf.Tensor3D;
  }

  tokenLogProbs(request: TokenLogProbsRequest): TokenLogProbs<tf.Tensor> {
    const temperature = validateScoringRequest(request);
    if (request.sequences.length === 0) {
      throw new InvalidArgumentError({
        argument: 'sequences',
        value: request.sequences,
        message: 'must hold at least one sequence',
      });
    }
    const batch = this.padBatch(request.sequences);
    const batchSize = request.sequences.length;
    const zeroColumn = () => tf.zeros([batchSize, 1]);
    if (batch.width === 1) {
      return {
        logProbs: zeroColumn(),
        ...(request.withEntropy ? { entropy: zeroColumn() } : {}),
      };
    }
    return tf.tidy(() => {
      const logDistribution = this.logDistributions(batch, temperature);
      const shape: [number, number] = [batchSize, batch.width - 1];
      const mask = tf.tensor2d(batch.mask, shape);
      // One-hot selection keeps the gradient on ops every tfjs backend has.
      const oneHot = tf.oneHot(tf.tensor2d(batch.targets, shape, 'int32'), this.vocabSize);
      const selected = logDistribution.mul(oneHot).sum(-1).mul(mask);
      const logProbs = tf.concat([zeroColumn(), selected], 1);
      if (!request.withEntropy) return { logProbs };
      const entropy = logDistribution.exp().mul(logDistribution).sum(-1).neg().mul(mask);
      return { logProbs, entropy: tf.concat([zeroColumn(), entropy], 1) };
    }) as unknown as TokenLogProbs<tf.Tensor>;
  }

  /**
   * Exact KL over the full vocabulary from the policy to the base at every
   * position, `KL_t = sum_v pi_t(v) (log pi_t(v) - log p_base,t(v))` with both
   * distributions at temperature `T`, `[B, W]` (0 at t = 0 and padding),
   * differentiable in the delta model. Base logits must be cached (see
   * {@link ProxyTunedPolicy.prepare}).
   */
  exactKlToBase(request: TokenLogProbsRequest): tf.Tensor2D {
    const temperature = validateScoringRequest(request);
    const batch = this.padBatch(request.sequences);
    const batchSize = request.sequences.length;
    if (batch.width === 1) return tf.zeros([batchSize, 1]);
    return tf.tidy(() => {
      const logPolicy = this.logDistributions(batch, temperature);
      const shape: [number, number, number] = [batchSize, batch.width - 1, this.vocabSize];
      const baseLogits = tf.tensor3d(batch.base, shape);
      const logBase = tf.logSoftmax(temperature === 1 ? baseLogits : baseLogits.div(temperature));
      const perPosition = logPolicy
        .exp()
        .mul(logPolicy.sub(logBase))
        .sum(-1)
        .mul(tf.tensor2d(batch.mask, [batchSize, batch.width - 1]));
      return tf.concat([tf.zeros([batchSize, 1]), perPosition], 1) as tf.Tensor2D;
    });
  }

  /** {@link ProxyTunedPolicy.exactKlToBase} as numbers, computing missing base logits first. */
  async klToBase(request: TokenLogProbsRequest): Promise<number[][]> {
    await this.prepare(request);
    const kl = this.exactKlToBase(request);
    const values = (await kl.array()) as number[][];
    kl.dispose();
    return values.map((row, index) => row.slice(0, request.sequences[index]?.length ?? 0));
  }

  trainableVariables(): readonly tf.Variable[] {
    return this.delta.trainableVariables();
  }

  namedVariables(): Record<string, tf.Variable> {
    return this.delta.namedVariables();
  }

  /** The delta model's weights (the base is frozen and not included). */
  getWeights(): WeightMap {
    return this.delta.getWeights();
  }

  setWeights(weights: WeightMap): void {
    this.delta.setWeights(weights);
  }

  dispose(): void {
    this.delta.dispose();
    this.baseLogits.clear();
  }
}

/**
 * Creates a {@link ProxyTunedPolicy} over a loaded base model: reads the base
 * vocabulary from one forward pass and builds a delta model of the given size
 * over the same vocabulary, with its output layer at zero.
 *
 * @example
 * ```ts
 * const policy = await createProxyTunedPolicy({ base: model, tokenizer, delta: { embeddingSize: 32, layerCount: 1, headCount: 2 }, seed: 1 });
 * ```
 */
export async function createProxyTunedPolicy(
  options: CreateProxyTunedPolicyOptions,
): Promise<ProxyTunedPolicy> {
  const { base, tokenizer, ...rest } = options;
  const settings = parseWithSchema(
    ProxyTunedPolicyOptionsSchema,
    rest,
    'createProxyTunedPolicy options',
  );
  const probe = await base.forward({
    tokenIds: [[tokenizer.eosTokenId]],
    attentionMask: [[1]],
    positionIds: [[0]],
  });
  const vocabSize = probe.vocabSize;
  const delta = new DeltaModel({
    config: {
      vocabSize,
      contextLength: settings.delta.contextLength ?? base.maxPositions ?? 1024,
      embeddingSize: settings.delta.embeddingSize,
      layerCount: settings.delta.layerCount,
      headCount: settings.delta.headCount,
      ...(settings.delta.innerSize === undefined ? {} : { innerSize: settings.delta.innerSize }),
      eosTokenId: tokenizer.eosTokenId,
      bosTokenId: tokenizer.eosTokenId,
    },
    seed: settings.seed,
  });
  return new ProxyTunedPolicy({ base, delta, tokenizer, vocabSize, settings });
}
