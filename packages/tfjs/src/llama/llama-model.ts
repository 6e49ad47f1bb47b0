import { InvalidArgumentError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import type { CausalLanguageModel } from '../causal-language-model';
import { embeddingLookup } from '../embedding-lookup';
import { runForward } from '../forward-inputs';
import type { GptForwardOptions, GptForwardResult, LayerKeyValue } from '../gpt-model';
import { linear } from '../linear';
import { matMul2d } from '../mat-mul-2d';
import { reshapeView } from '../reshape-view';
import { scaledDotProductAttention } from '../scaled-dot-product-attention';
import type { WeightMap, WeightTensor } from '../weights';
import { frozenLinear, frozenTransposedLinear } from './frozen-linear';
import { type LlamaConfig, type LlamaConfigInput, parseLlamaConfig } from './llama-config';
import { loraLinear } from './lora-linear';
import {
  type LoraOptions,
  type LoraOptionsInput,
  type LoraTargetModule,
  parseLoraOptions,
} from './lora-options';
import { repeatKeyValueHeads } from './repeat-key-value-heads';
import { residualAdd } from './residual-add';
import { rmsNorm } from './rms-norm';
import { applyRotary, rotaryInverseFrequencies, rotaryTables } from './rotary-embedding';
import { swiGlu } from './swi-glu';

/** Options of {@link LlamaModel.forward}: those of the GPT model, and whether LoRA adapters apply. */
export interface LlamaForwardOptions extends GptForwardOptions {
  /** Apply the LoRA adapters (default true); `false` runs the frozen base. */
  useAdapters?: boolean;
}

/** Options of {@link createLlamaModel}. */
export interface CreateLlamaModelOptions {
  config: LlamaConfigInput | LlamaConfig;
  /** Seed of the initialization (weights `N(0, 0.02)`, norms 1, biases 0). Default 0. */
  seed?: number;
  /** Add LoRA adapters: then only they are trainable, and the base weights are frozen. */
  lora?: LoraOptionsInput;
  /** Skip the random draw and start every weight at 0 (norms at 1): for a model about to load weights. */
  zeroInitialize?: boolean;
}

/** One projection `y = x W + b` with `W` kept `[in, out]` (transposed from Hugging Face's `[out, in]`). */
interface Projection {
  /** Hugging Face module name, for example `model.layers.0.self_attn.q_proj`. */
  name: string;
  module: LoraTargetModule;
  weight: tf.Variable<tf.Rank.R2>;
  bias?: tf.Variable<tf.Rank.R1>;
  /** LoRA `A [in, rank]` and `B [rank, out]` (PEFT stores them transposed). */
  loraA?: tf.Variable<tf.Rank.R2>;
  loraB?: tf.Variable<tf.Rank.R2>;
}

interface LayerParameters {
  inputNorm: tf.Variable<tf.Rank.R1>;
  query: Projection;
  key: Projection;
  value: Projection;
  output: Projection;
  queryNorm?: tf.Variable<tf.Rank.R1>;
  keyNorm?: tf.Variable<tf.Rank.R1>;
  postAttentionNorm: tf.Variable<tf.Rank.R1>;
  gate: Projection;
  up: Projection;
  down: Projection;
}

/** A base parameter under its Hugging Face name; `transposed` when kept `[in, out]` for a `[out, in]` tensor. */
interface BaseParameter {
  variable: tf.Variable;
  transposed: boolean;
}

let modelCounter = 0;

/**
 * A Llama-family causal language model in TensorFlow.js (Touvron et al. 2023;
 * Qwen2 and Qwen3 by switches of {@link LlamaConfig}): token embedding, blocks
 * `x += o_proj(attn(rope(q), rope(k), v)); x += down(silu(gate(h)) * up(h))`
 * with RMSNorm before each half, grouped-query attention, rotary position
 * embeddings in the Hugging Face half-rotation layout, optional q/k/v biases
 * (Qwen2) and per-head q/k RMSNorm (Qwen3), a final RMSNorm and an output head
 * tied to the embedding or not. Parameters carry the Hugging Face names.
 *
 * With LoRA (see {@link LoraOptions}) every targeted projection gains
 * `(alpha / rank) x A B`; the base weights are frozen (no gradient is computed
 * for them) and `trainableVariables()` lists only the adapters. The same
 * weights with adapters off are the reference model ({@link LlamaModel.withoutAdapters}).
 *
 * @example
 * ```ts
 * const model = createLlamaModel({ config: { vocabSize: 64, hiddenSize: 32, intermediateSize: 64, layerCount: 2, headCount: 4, keyValueHeadCount: 2 }, lora: { rank: 4, alpha: 8 } });
 * const { logits } = model.forward([[1, 2, 3]]); // [1, 3, 64]
 * ```
 */
export class LlamaModel implements CausalLanguageModel {
  readonly config: LlamaConfig;
  /** The LoRA options when the model has adapters. */
  readonly lora: LoraOptions | undefined;
  private readonly embedding: tf.Variable<tf.Rank.R2>;
  /** `[E, V]`, absent when the head is tied to the embedding. */
  private readonly head: tf.Variable<tf.Rank.R2> | undefined;
  private readonly finalNorm: tf.Variable<tf.Rank.R1>;
  private readonly layers: LayerParameters[] = [];
  private readonly base = new Map<string, BaseParameter>();
  private readonly adapters = new Map<string, tf.Variable>();
  private readonly inverseFrequencies: Float64Array;
  private disposed = false;
  private readonly id = modelCounter++;

  constructor(
    config: LlamaConfig,
    options: { seed?: number; lora?: LoraOptions; zeroInitialize?: boolean } = {},
  ) {
    this.config = config;
    this.lora = options.lora;
    this.inverseFrequencies = rotaryInverseFrequencies(config);
    const random = new Random(options.seed ?? 0);
    const zero = options.zeroInitialize === true;
    const trainable = options.lora === undefined;
    const { vocabSize, hiddenSize: width, intermediateSize: inner, headSize } = config;
    const queryWidth = config.headCount * headSize;
    const keyValueWidth = config.keyValueHeadCount * headSize;
    const matrix = (name: string, shape: [number, number], transposed: boolean) => {
      const values = new Float32Array(shape[0] * shape[1]);
      if (!zero)
        for (let index = 0; index < values.length; index++) values[index] = random.normal(0, 0.02);
      return this.register(
        name,
        tf.tensor2d(values, shape),
        transposed,
        trainable,
      ) as tf.Variable<tf.Rank.R2>;
    };
    const vector = (name: string, size: number, value: number) =>
      this.register(
        name,
        tf.fill([size], value) as tf.Tensor1D,
        false,
        trainable,
      ) as tf.Variable<tf.Rank.R1>;
    const projection = (
      prefix: string,
      module: LoraTargetModule,
      inSize: number,
      outSize: number,
      withBias: boolean,
    ): Projection => {
      const name = `${prefix}.${module}`;
      return {
        name,
        module,
        weight: matrix(`${name}.weight`, [inSize, outSize], true),
        ...(withBias ? { bias: vector(`${name}.bias`, outSize, 0) } : {}),
      };
    };
    this.embedding = matrix('model.embed_tokens.weight', [vocabSize, width], false);
    for (let layer = 0; layer < config.layerCount; layer++) {
      const prefix = `model.layers.${layer}`;
      const attention = `${prefix}.self_attn`;
      const mlp = `${prefix}.mlp`;
      this.layers.push({
        inputNorm: vector(`${prefix}.input_layernorm.weight`, width, 1),
        query: projection(attention, 'q_proj', width, queryWidth, config.queryKeyValueBias),
        key: projection(attention, 'k_proj', width, keyValueWidth, config.queryKeyValueBias),
        value: projection(attention, 'v_proj', width, keyValueWidth, config.queryKeyValueBias),
        output: projection(attention, 'o_proj', queryWidth, width, config.outputBias),
        ...(config.queryKeyNorm
          ? {
              queryNorm: vector(`${attention}.q_norm.weight`, headSize, 1),
              keyNorm: vector(`${attention}.k_norm.weight`, headSize, 1),
            }
          : {}),
        postAttentionNorm: vector(`${prefix}.post_attention_layernorm.weight`, width, 1),
        gate: projection(mlp, 'gate_proj', width, inner, config.mlpBias),
        up: projection(mlp, 'up_proj', width, inner, config.mlpBias),
        down: projection(mlp, 'down_proj', inner, width, config.mlpBias),
      });
    }
    this.finalNorm = vector('model.norm.weight', width, 1);
    this.head = config.tieWordEmbeddings
      ? undefined
      : matrix('lm_head.weight', [width, vocabSize], true);
    if (options.lora !== undefined) this.addAdapters(options.lora);
  }

  private register(
    name: string,
    initial: tf.Tensor,
    transposed: boolean,
    trainable: boolean,
  ): tf.Variable {
    const variable = tf.variable(initial, trainable, `llama${this.id}/${name}`);
    initial.dispose();
    this.base.set(name, { variable, transposed });
    return variable;
  }

  private addAdapters(lora: LoraOptions): void {
    const random = new Random(lora.seed);
    for (const layer of this.layers) {
      for (const projection of [
        layer.query,
        layer.key,
        layer.value,
        layer.output,
        layer.gate,
        layer.up,
        layer.down,
      ]) {
        if (!lora.targets.includes(projection.module)) continue;
        const [inSize, outSize] = projection.weight.shape;
        // PEFT's default: A ~ Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)); B = 0.
        const bound = 1 / Math.sqrt(inSize);
        const a = new Float32Array(inSize * lora.rank);
        for (let index = 0; index < a.length; index++) a[index] = random.uniform(-bound, bound);
        projection.loraA = this.registerAdapter(
          `${projection.name}.lora_A.weight`,
          tf.tensor2d(a, [inSize, lora.rank]),
        );
        projection.loraB = this.registerAdapter(
          `${projection.name}.lora_B.weight`,
          tf.zeros([lora.rank, outSize]),
        );
      }
    }
  }

  private registerAdapter(name: string, initial: tf.Tensor): tf.Variable<tf.Rank.R2> {
    const variable = tf.variable(initial, true, `llama${this.id}/${name}`);
    initial.dispose();
    this.adapters.set(name, variable);
    return variable as tf.Variable<tf.Rank.R2>;
  }

  /** The scale `alpha / rank` of the LoRA update. */
  get loraScale(): number {
    if (this.lora === undefined) return 0;
    return (this.lora.alpha ?? this.lora.rank) / this.lora.rank;
  }

  /** The trainable variables: the LoRA adapters when the model has them, else every weight. */
  trainableVariables(): tf.Variable[] {
    return Object.values(this.namedVariables());
  }

  /**
   * The trainable variables by name: adapters as `<module>.lora_A.weight` /
   * `.lora_B.weight` (kept `[in, rank]` and `[rank, out]`), or every base
   * weight under its Hugging Face name (linear weights kept `[in, out]`).
   */
  namedVariables(): Record<string, tf.Variable> {
    if (this.lora !== undefined) return Object.fromEntries(this.adapters);
    return Object.fromEntries([...this.base].map(([name, { variable }]) => [name, variable]));
  }

  /**
   * Every base weight's variable by Hugging Face name, in the model's layout
   * (linear weights `[in, out]`): with LoRA these are the frozen weights that
   * an external learner (the ONNX learning graph) reads beside the adapters.
   */
  baseVariables(): Record<string, tf.Variable> {
    return Object.fromEntries([...this.base].map(([name, { variable }]) => [name, variable]));
  }

  /** Number of scalar parameters: base weights and adapters. */
  parameterCount(): { base: number; adapters: number } {
    let base = 0;
    for (const { variable } of this.base.values()) base += variable.size;
    let adapters = 0;
    for (const variable of this.adapters.values()) adapters += variable.size;
    return { base, adapters };
  }

  /** Hugging Face names and shapes (`[out, in]` for linear weights) of every base weight. */
  baseWeightShapes(): Record<string, number[]> {
    return Object.fromEntries(
      [...this.base].map(([name, { variable, transposed }]) => [
        name,
        transposed ? [...variable.shape].reverse() : [...variable.shape],
      ]),
    );
  }

  /**
   * A copy of every base weight under its Hugging Face name and layout. With
   * `merged`, each adapted projection holds `W + (alpha / rank) (A B)` (in
   * the Hugging Face layout, `W^T + scale B^T A^T`), which is what
   * merge-and-save writes.
   */
  getWeights(options: { merged?: boolean } = {}): WeightMap {
    const merged = new Map<string, tf.Tensor2D>();
    if (options.merged === true && this.lora !== undefined) {
      for (const layer of this.layers) {
        for (const projection of this.projections(layer)) {
          if (projection.loraA === undefined || projection.loraB === undefined) continue;
          const { loraA, loraB, weight } = projection;
          merged.set(
            `${projection.name}.weight`,
            tf.tidy(() => weight.add(tf.matMul(loraA, loraB).mul(this.loraScale))),
          );
        }
      }
    }
    const weights: WeightMap = {};
    for (const [name, { variable, transposed }] of this.base) {
      const source = merged.get(name) ?? variable;
      const value = transposed ? tf.transpose(source) : source;
      weights[name] = {
        shape: [...value.shape],
        data: value.dataSync() as Float32Array,
      };
      if (value !== source) value.dispose();
    }
    for (const tensor of merged.values()) tensor.dispose();
    return weights;
  }

  /** A copy of the adapters under their names (`A [in, rank]`, `B [rank, out]`; PEFT transposes both). */
  adapterWeights(): WeightMap {
    const weights: WeightMap = {};
    for (const [name, variable] of this.adapters) {
      weights[name] = { shape: [...variable.shape], data: variable.dataSync() as Float32Array };
    }
    return weights;
  }

  /**
   * Sets one base weight from a tensor in the Hugging Face layout. Throws
   * naming the tensor when the name is unknown or the shape does not match.
   */
  setWeight(name: string, tensor: WeightTensor): void {
    this.assertAlive();
    const parameter = this.base.get(name);
    if (parameter === undefined) {
      throw new InvalidArgumentError({
        argument: `weights["${name}"]`,
        value: tensor.shape,
        message: `is not a weight of this ${this.config.modelType} model`,
      });
    }
    const { variable, transposed } = parameter;
    const expected = transposed ? [...variable.shape].reverse() : [...variable.shape];
    const size = expected.reduce((product, dimension) => product * dimension, 1);
    if (
      tensor.shape.length !== expected.length ||
      tensor.shape.some((dimension, axis) => dimension !== expected[axis]) ||
      tensor.data.length !== size
    ) {
      throw new InvalidArgumentError({
        argument: `weights["${name}"].shape`,
        value: tensor.shape,
        message: `is [${tensor.shape.join(', ')}] (${tensor.data.length} values) but must be [${expected.join(', ')}]`,
      });
    }
    tf.tidy(() => {
      const value = tf.tensor(tensor.data, expected);
      variable.assign(transposed ? value.transpose() : value);
    });
  }

  /**
   * Loads every base weight from Hugging Face names and layouts. A missing,
   * unknown or misshaped tensor throws, naming it; `lm_head.weight` of a tied
   * model is accepted when it equals nothing else to load (transformers
   * sometimes saves it).
   */
  setWeights(weights: WeightMap): void {
    const tiedHead = this.config.tieWordEmbeddings ? 'lm_head.weight' : undefined;
    const missing = [...this.base.keys()].filter((name) => weights[name] === undefined);
    if (missing.length > 0) {
      throw new InvalidArgumentError({
        argument: `weights["${missing[0]}"]`,
        value: undefined,
        message: `is missing (${missing.length} missing in all)`,
      });
    }
    for (const [name, tensor] of Object.entries(weights)) {
      if (name === tiedHead || name.endsWith('.rotary_emb.inv_freq')) continue;
      this.setWeight(name, tensor);
    }
  }

  /** Sets one adapter from `[in, rank]` / `[rank, out]` values; throws naming it when unknown or misshaped. */
  setAdapterWeight(name: string, tensor: WeightTensor): void {
    this.assertAlive();
    const variable = this.adapters.get(name);
    if (variable === undefined) {
      throw new InvalidArgumentError({
        argument: `adapters["${name}"]`,
        value: tensor.shape,
        message:
          this.lora === undefined
            ? 'this model has no LoRA adapters'
            : `is not an adapter of this model (targets: ${this.lora.targets.join(', ')})`,
      });
    }
    if (
      tensor.shape.length !== 2 ||
      tensor.shape.some((dimension, axis) => dimension !== variable.shape[axis])
    ) {
      throw new InvalidArgumentError({
        argument: `adapters["${name}"].shape`,
        value: tensor.shape,
        message: `must be [${variable.shape.join(', ')}]`,
      });
    }
    tf.tidy(() => variable.assign(tf.tensor(tensor.data, variable.shape)));
  }

  /** Sets every adapter (see {@link LlamaModel.setAdapterWeight}); a missing one throws, naming it. */
  loadAdapterWeights(weights: WeightMap): void {
    for (const name of this.adapters.keys()) {
      if (weights[name] === undefined) {
        throw new InvalidArgumentError({
          argument: `adapters["${name}"]`,
          value: undefined,
          message: 'is missing',
        });
      }
    }
    for (const [name, tensor] of Object.entries(weights)) this.setAdapterWeight(name, tensor);
  }

  /**
   * The same weights with the adapters switched off, as a model that
   * {@link generate} and {@link tokenLogProbs} accept: the frozen base, the
   * KL reference of LoRA training, with no second copy of the weights.
   */
  withoutAdapters(): CausalLanguageModel {
    return {
      config: this.config,
      forward: (tokenIds, options = {}) =>
        this.forward(tokenIds, { ...options, useAdapters: false }),
    };
  }

  /**
   * Runs the model on `tokenIds [B, T]`. Every tensor in the result belongs to
   * the caller; pass `presentKeyValues` (keys after the rotation, per
   * key/value head, `[B, Hkv, T, d]`) back as `pastKeyValues` to continue.
   */
  forward(
    tokenIds: readonly (readonly number[])[] | tf.Tensor2D,
    options: LlamaForwardOptions = {},
  ): GptForwardResult {
    this.assertAlive();
    const { config } = this;
    const past = options.pastKeyValues;
    const useAdapters = options.useAdapters !== false && this.lora !== undefined;
    return runForward(tokenIds, options, config, ({ ids, bias, positions, batchSize, length }) => {
      const { cos, sin } = rotaryTables(this.inverseFrequencies, positions, [batchSize, length]);
      let x = embeddingLookup(this.embedding, ids);
      const presentKeyValues: LayerKeyValue[] = [];
      this.layers.forEach((layer, index) => {
        // One tidy per layer: only what the backward pass saved outlives it, not every
        // intermediate of every layer until the whole forward pass ends.
        const { output, present } = tf.tidy(() => {
          const h = rmsNorm(x, layer.inputNorm, config.rmsNormEpsilon);
          const attention = this.attention(h, layer, past?.[index], bias, cos, sin, useAdapters);
          const mid = residualAdd(x, attention.output);
          const h2 = rmsNorm(mid, layer.postAttentionNorm, config.rmsNormEpsilon);
          const hidden = swiGlu(
            this.project(h2, layer.gate, useAdapters),
            this.project(h2, layer.up, useAdapters),
          );
          return {
            output: residualAdd(mid, this.project(hidden, layer.down, useAdapters)),
            present: attention.present,
          } as unknown as tf.TensorContainerObject;
        }) as unknown as { output: tf.Tensor; present: LayerKeyValue };
        presentKeyValues.push(present);
        x = output;
      });
      const final = rmsNorm(x, this.finalNorm, config.rmsNormEpsilon) as tf.Tensor3D;
      const flat = reshapeView<tf.Rank.R2>(final, [-1, config.hiddenSize]);
      let logits2d: tf.Tensor2D;
      if (this.lora === undefined)
        logits2d = matMul2d(flat, this.head ?? (this.embedding.transpose() as tf.Tensor2D));
      else if (this.head === undefined) logits2d = frozenTransposedLinear(flat, this.embedding);
      else logits2d = frozenLinear(flat, this.head) as tf.Tensor2D;
      const logits = reshapeView<tf.Rank.R3>(logits2d, [batchSize, length, config.vocabSize]);
      return { logits, presentKeyValues, hiddenStates: final };
    });
  }

  /** Frees every variable. The model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    for (const { variable } of this.base.values()) variable.dispose();
    for (const variable of this.adapters.values()) variable.dispose();
    this.disposed = true;
  }

  private projections(layer: LayerParameters): Projection[] {
    return [layer.query, layer.key, layer.value, layer.output, layer.gate, layer.up, layer.down];
  }

  private assertAlive(): void {
    if (this.disposed) {
      throw new InvalidArgumentError({
        argument: 'model',
        value: 'disposed',
        message: 'this LlamaModel was disposed',
      });
    }
  }

  /** `x W + b`, plus `(alpha / rank) x A B` when adapters apply; `W` and `b` get no gradient under LoRA. */
  private project(x: tf.Tensor, projection: Projection, useAdapters: boolean): tf.Tensor {
    const { weight, bias, loraA, loraB } = projection;
    if (this.lora === undefined) return linear(x, weight, bias);
    if (!useAdapters || loraA === undefined || loraB === undefined)
      return frozenLinear(x, weight, bias);
    return loraLinear(x, {
      weight,
      ...(bias !== undefined ? { bias } : {}),
      loraA,
      loraB,
      scale: this.loraScale,
    });
  }

  private attention(
    h: tf.Tensor,
    layer: LayerParameters,
    past: LayerKeyValue | undefined,
    bias: tf.Tensor4D,
    cos: tf.Tensor4D,
    sin: tf.Tensor4D,
    useAdapters: boolean,
  ): { output: tf.Tensor; present: LayerKeyValue } {
    const { headCount, keyValueHeadCount, headSize, rmsNormEpsilon } = this.config;
    const [batchSize, length] = h.shape as [number, number, number];
    const heads = (part: tf.Tensor, count: number, norm: tf.Tensor1D | undefined): tf.Tensor4D => {
      let split = reshapeView<tf.Rank.R4>(part, [batchSize, length, count, headSize]);
      if (norm !== undefined) split = rmsNorm(split, norm, rmsNormEpsilon) as tf.Tensor4D;
      return split.transpose([0, 2, 1, 3]);
    };
    const query = applyRotary(
      heads(this.project(h, layer.query, useAdapters), headCount, layer.queryNorm),
      cos,
      sin,
    );
    let key = applyRotary(
      heads(this.project(h, layer.key, useAdapters), keyValueHeadCount, layer.keyNorm),
      cos,
      sin,
    );
    let value = heads(this.project(h, layer.value, useAdapters), keyValueHeadCount, undefined);
    if (past !== undefined) {
      key = tf.concat([past.key, key], 2);
      value = tf.concat([past.value, value], 2);
    }
    const attended = scaledDotProductAttention(
      query,
      repeatKeyValueHeads(key, this.config.headCount / this.config.keyValueHeadCount),
      repeatKeyValueHeads(value, this.config.headCount / this.config.keyValueHeadCount),
      bias,
    );
    const merged = reshapeView(attended.transpose([0, 2, 1, 3]), [
      batchSize,
      length,
      headCount * headSize,
    ]);
    return { output: this.project(merged, layer.output, useAdapters), present: { key, value } };
  }
}

/**
 * Creates a {@link LlamaModel}: weights `N(0, 0.02)` (transformers'
 * `initializer_range`), norms 1, biases 0, drawn from a seeded `Random`;
 * with `lora`, adapters `A` Kaiming-uniform and `B = 0`.
 *
 * @example
 * ```ts
 * const model = createLlamaModel({ config: { modelType: 'qwen3', vocabSize: 64, hiddenSize: 32, intermediateSize: 64, layerCount: 2, headCount: 4, keyValueHeadCount: 2, headSize: 16 }, seed: 3 });
 * ```
 */
export function createLlamaModel(options: CreateLlamaModelOptions): LlamaModel {
  const config = parseLlamaConfig(options.config);
  return new LlamaModel(config, {
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.lora !== undefined ? { lora: parseLoraOptions(options.lora) } : {}),
    ...(options.zeroInitialize === true ? { zeroInitialize: true } : {}),
  });
}
