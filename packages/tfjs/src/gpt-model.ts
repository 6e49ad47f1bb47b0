import { InvalidArgumentError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { fusedSelfAttention } from './causal-self-attention';
import { embeddingLookup } from './embedding-lookup';
import { runForward } from './forward-inputs';
import { gelu } from './gelu';
import { type Gpt2Config, type Gpt2ConfigInput, parseGpt2Config } from './gpt2-config';
import { layerNorm } from './layer-norm';
import { linear } from './linear';
import { matMul2d } from './mat-mul-2d';
import { scaledDotProductAttention } from './scaled-dot-product-attention';
import type { WeightMap } from './weights';

/** Cached keys and values of one layer, `[B, H, T, headSize]` each (the Hugging Face layout). */
export interface LayerKeyValue {
  key: tf.Tensor4D;
  value: tf.Tensor4D;
}

/** Which ops a {@link GptModel} runs: the fast WASM path, or plain tfjs ops (a reference for tests and benchmarks). */
export type GptOps = 'fast' | 'plain';

/** Options of {@link GptModel.forward}. */
export interface GptForwardOptions {
  /** Keys and values of earlier positions, one entry per layer (from a previous `presentKeyValues`). */
  pastKeyValues?: readonly LayerKeyValue[];
  /** Position id of every token, `[B, T]`. Default: `positionOffset + t`. */
  positionIds?: readonly (readonly number[])[];
  /** First position id when `positionIds` is omitted. Default: the cached length. */
  positionOffset?: number;
  /** 1 for real tokens and 0 for padding over all `past + T` positions, `[B, past + T]`. */
  attentionMask?: readonly (readonly number[])[];
  /** Also return the final hidden states (after the last layer norm), for a value head. */
  returnHiddenStates?: boolean;
}

/** Result of {@link GptModel.forward}; the caller owns (and disposes) every tensor. */
export interface GptForwardResult {
  /** `[B, T, V]` next-token logits. */
  logits: tf.Tensor3D;
  /** Keys and values of all `past + T` positions, per layer. */
  presentKeyValues: LayerKeyValue[];
  /** `[B, T, E]`, when `returnHiddenStates` was set. */
  hiddenStates?: tf.Tensor3D;
}

/** Options of {@link createGptModel}. */
export interface CreateGptModelOptions {
  config: Gpt2ConfigInput;
  /** Seed of the GPT-2 initialization. Default 0. */
  seed?: number;
  /** Default `'fast'`. */
  ops?: GptOps;
}

let modelCounter = 0;

interface LayerParameters {
  ln1Gain: tf.Variable<tf.Rank.R1>;
  ln1Bias: tf.Variable<tf.Rank.R1>;
  attentionWeight: tf.Variable<tf.Rank.R2>;
  attentionBias: tf.Variable<tf.Rank.R1>;
  attentionProjectionWeight: tf.Variable<tf.Rank.R2>;
  attentionProjectionBias: tf.Variable<tf.Rank.R1>;
  ln2Gain: tf.Variable<tf.Rank.R1>;
  ln2Bias: tf.Variable<tf.Rank.R1>;
  mlpWeight: tf.Variable<tf.Rank.R2>;
  mlpBias: tf.Variable<tf.Rank.R1>;
  mlpProjectionWeight: tf.Variable<tf.Rank.R2>;
  mlpProjectionBias: tf.Variable<tf.Rank.R1>;
}

function isIgnoredBuffer(name: string): boolean {
  return (
    name === 'lm_head.weight' || name.endsWith('.attn.bias') || name.endsWith('.attn.masked_bias')
  );
}

/**
 * A GPT-2-style causal language model in TensorFlow.js (Radford et al. 2019):
 * token plus position embeddings, pre-layer-norm blocks
 * `x += attn(ln_1(x)); x += mlp(ln_2(x))` with GELU (tanh approximation) in the
 * MLP, a final layer norm, and the output head tied to the token embedding
 * (`logits = ln_f(x) W_te^T`). Parameters use the Hugging Face GPT-2 names and
 * layouts, so {@link GptModel.getWeights} and {@link GptModel.setWeights}
 * exchange weights with `transformers` checkpoints.
 *
 * @example
 * ```ts
 * const model = createGptModel({ config: { vocabSize: 16, contextLength: 8, embeddingSize: 8, layerCount: 1, headCount: 2 }, seed: 1 });
 * const { logits, presentKeyValues } = model.forward([[1, 2, 3]]); // logits [1, 3, 16]
 * ```
 */
export class GptModel {
  readonly config: Gpt2Config;
  readonly ops: GptOps;
  private readonly tokenEmbedding: tf.Variable<tf.Rank.R2>;
  private readonly positionEmbedding: tf.Variable<tf.Rank.R2>;
  private readonly layers: LayerParameters[] = [];
  private readonly finalGain: tf.Variable<tf.Rank.R1>;
  private readonly finalBias: tf.Variable<tf.Rank.R1>;
  private readonly parameters = new Map<string, tf.Variable>();
  private disposed = false;
  private readonly id = modelCounter++;

  constructor(config: Gpt2Config, options: { seed?: number; ops?: GptOps } = {}) {
    this.config = config;
    this.ops = options.ops ?? 'fast';
    const random = new Random(options.seed ?? 0);
    const { vocabSize, contextLength, embeddingSize: width, layerCount } = config;
    const inner = config.innerSize ?? 4 * width;
    const std = 0.02;
    // GPT-2 scales the residual projections by 1/sqrt(2 * layers) (Radford et al. 2019, section 2.3).
    const projectionStd = std / Math.sqrt(2 * layerCount);
    const normal = (name: string, shape: [number, number], sd: number): tf.Variable<tf.Rank.R2> => {
      const values = new Float32Array(shape[0] * shape[1]);
      for (let index = 0; index < values.length; index++) values[index] = random.normal(0, sd);
      return this.register(name, tf.tensor2d(values, shape)) as tf.Variable<tf.Rank.R2>;
    };
    const filled = (name: string, size: number, value: number): tf.Variable<tf.Rank.R1> =>
      this.register(name, tf.fill([size], value) as tf.Tensor1D) as tf.Variable<tf.Rank.R1>;
    this.tokenEmbedding = normal('transformer.wte.weight', [vocabSize, width], std);
    this.positionEmbedding = normal('transformer.wpe.weight', [contextLength, width], std);
    for (let layer = 0; layer < layerCount; layer++) {
      const name = `transformer.h.${layer}`;
      this.layers.push({
        ln1Gain: filled(`${name}.ln_1.weight`, width, 1),
        ln1Bias: filled(`${name}.ln_1.bias`, width, 0),
        attentionWeight: normal(`${name}.attn.c_attn.weight`, [width, 3 * width], std),
        attentionBias: filled(`${name}.attn.c_attn.bias`, 3 * width, 0),
        attentionProjectionWeight: normal(
          `${name}.attn.c_proj.weight`,
          [width, width],
          projectionStd,
        ),
        attentionProjectionBias: filled(`${name}.attn.c_proj.bias`, width, 0),
        ln2Gain: filled(`${name}.ln_2.weight`, width, 1),
        ln2Bias: filled(`${name}.ln_2.bias`, width, 0),
        mlpWeight: normal(`${name}.mlp.c_fc.weight`, [width, inner], std),
        mlpBias: filled(`${name}.mlp.c_fc.bias`, inner, 0),
        mlpProjectionWeight: normal(`${name}.mlp.c_proj.weight`, [inner, width], projectionStd),
        mlpProjectionBias: filled(`${name}.mlp.c_proj.bias`, width, 0),
      });
    }
    this.finalGain = filled('transformer.ln_f.weight', width, 1);
    this.finalBias = filled('transformer.ln_f.bias', width, 0);
  }

  private register(name: string, initial: tf.Tensor): tf.Variable {
    const variable = tf.variable(initial, true, `gpt${this.id}/${name}`);
    initial.dispose();
    this.parameters.set(name, variable);
    return variable;
  }

  /** Every trainable variable, in a stable order. */
  trainableVariables(): tf.Variable[] {
    return [...this.parameters.values()];
  }

  /** The trainable variables keyed by their Hugging Face names (stable across processes). */
  namedVariables(): Record<string, tf.Variable> {
    return Object.fromEntries(this.parameters);
  }

  /** Number of scalar parameters. */
  parameterCount(): number {
    let count = 0;
    for (const variable of this.parameters.values()) count += variable.size;
    return count;
  }

  /** A copy of every parameter under its Hugging Face GPT-2 name (tied head not repeated). */
  getWeights(): WeightMap {
    const weights: WeightMap = {};
    for (const [name, variable] of this.parameters) {
      weights[name] = { shape: [...variable.shape], data: variable.dataSync() as Float32Array };
    }
    return weights;
  }

  /**
   * Loads Hugging Face GPT-2 weights. Names may omit the `transformer.` prefix;
   * `lm_head.weight` (tied) and the `.attn.bias` / `.attn.masked_bias` buffers are
   * ignored. A missing, unknown or misshaped tensor throws, naming it.
   */
  setWeights(weights: WeightMap): void {
    this.assertAlive();
    const byName = new Map<string, string>();
    for (const key of Object.keys(weights)) {
      if (isIgnoredBuffer(key)) continue;
      const full = key.startsWith('transformer.') ? key : `transformer.${key}`;
      if (!this.parameters.has(full)) {
        throw new InvalidArgumentError({
          argument: `weights["${key}"]`,
          value: weights[key]?.shape,
          message: 'is not a parameter of this GPT-2 model',
        });
      }
      byName.set(full, key);
    }
    const updates: [tf.Variable, tf.Tensor][] = [];
    for (const [name, variable] of this.parameters) {
      const key = byName.get(name);
      const tensor = key === undefined ? undefined : weights[key];
      if (key === undefined || tensor === undefined) {
        throw new InvalidArgumentError({
          argument: `weights["${name}"]`,
          value: undefined,
          message: 'is missing',
        });
      }
      const size = tensor.shape.reduce((product, dimension) => product * dimension, 1);
      if (
        tensor.shape.length !== variable.rank ||
        tensor.shape.some((dimension, axis) => dimension !== variable.shape[axis]) ||
        tensor.data.length !== size
      ) {
        throw new InvalidArgumentError({
          argument: `weights["${key}"].shape`,
          value: tensor.shape,
          message: `must be [${variable.shape.join(', ')}] with as many values`,
        });
      }
      updates.push([variable, tf.tensor(tensor.data, variable.shape)]);
    }
    for (const [variable, value] of updates) {
      variable.assign(value);
      value.dispose();
    }
  }

  /**
   * Runs the model on `tokenIds [B, T]` (an int32 tensor or nested arrays).
   * Every tensor in the result belongs to the caller; pass `presentKeyValues`
   * back as `pastKeyValues` to continue a sequence.
   */
  forward(
    tokenIds: readonly (readonly number[])[] | tf.Tensor2D,
    options: GptForwardOptions = {},
  ): GptForwardResult {
    this.assertAlive();
    const { config } = this;
    const past = options.pastKeyValues;
    return runForward(tokenIds, options, config, ({ ids, bias, positions, batchSize, length }) => {
      const positionTensor = tf.tensor2d(positions, [batchSize, length], 'int32');
      let x = this.embed(this.tokenEmbedding, ids).add(
        this.embed(this.positionEmbedding, positionTensor),
      );
      const presentKeyValues: LayerKeyValue[] = [];
      this.layers.forEach((layer, index) => {
        const h = layerNorm(x, layer.ln1Gain, layer.ln1Bias, config.layerNormEpsilon);
        const { output, present } = this.attention(h, layer, past?.[index], bias);
        presentKeyValues.push(present);
        x = x.add(output);
        const h2 = layerNorm(x, layer.ln2Gain, layer.ln2Bias, config.layerNormEpsilon);
        const hidden = gelu(this.linear(h2, layer.mlpWeight, layer.mlpBias));
        x = x.add(this.linear(hidden, layer.mlpProjectionWeight, layer.mlpProjectionBias));
      });
      const final = layerNorm(
        x,
        this.finalGain,
        this.finalBias,
        config.layerNormEpsilon,
      ) as tf.Tensor3D;
      const flat = final.reshape([-1, config.embeddingSize]) as tf.Tensor2D;
      const logits2d =
        this.ops === 'fast'
          ? matMul2d(flat, this.tokenEmbedding.transpose())
          : tf.matMul(flat, this.tokenEmbedding, false, true);
      const logits = logits2d.reshape([batchSize, length, config.vocabSize]) as tf.Tensor3D;
      return { logits, presentKeyValues, hiddenStates: final };
    });
  }

  /** Frees every variable. The model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    for (const variable of this.parameters.values()) variable.dispose();
    this.disposed = true;
  }

  private assertAlive(): void {
    if (this.disposed) {
      throw new InvalidArgumentError({
        argument: 'model',
        value: 'disposed',
        message: 'this GptModel was disposed',
      });
    }
  }

  private embed(table: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor3D {
    if (this.ops === 'fast') return embeddingLookup(table, ids) as tf.Tensor3D;
    // Plain reference: tf.gather's gradient needs UnsortedSegmentSum, which WASM lacks.
    const [batchSize, length] = ids.shape;
    return tf
      .matMul(tf.oneHot(ids.reshape([-1]), table.shape[0]).toFloat(), table)
      .reshape([batchSize, length, table.shape[1]]);
  }

  private linear(x: tf.Tensor, weight: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor {
    if (this.ops === 'fast') return linear(x, weight, bias);
    const inSize = weight.shape[0];
    return tf
      .matMul(x.reshape([-1, inSize]), weight)
      .add(bias)
      .reshape([...x.shape.slice(0, -1), weight.shape[1]]);
  }

  private attention(
    h: tf.Tensor,
    layer: LayerParameters,
    past: LayerKeyValue | undefined,
    bias: tf.Tensor4D,
  ): { output: tf.Tensor; present: LayerKeyValue } {
    const { embeddingSize: width, headCount } = this.config;
    const [batchSize, length] = h.shape as [number, number, number];
    const headSize = width / headCount;
    const qkv = this.linear(h, layer.attentionWeight, layer.attentionBias);
    if (this.ops === 'fast' && past === undefined) {
      const {
        output: merged,
        key,
        value,
      } = fusedSelfAttention(qkv as tf.Tensor3D, bias, headCount);
      const output = this.linear(
        merged,
        layer.attentionProjectionWeight,
        layer.attentionProjectionBias,
      );
      return { output, present: { key, value } };
    }
    const heads = (part: tf.Tensor): tf.Tensor4D =>
      part.reshape([batchSize, length, headCount, headSize]).transpose([0, 2, 1, 3]);
    const [queryPart, keyPart, valuePart] = tf.split(qkv, 3, -1) as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
    const query = heads(queryPart);
    let key = heads(keyPart);
    let value = heads(valuePart);
    if (past !== undefined) {
      key = tf.concat([past.key, key], 2);
      value = tf.concat([past.value, value], 2);
    }
    let attended: tf.Tensor4D;
    if (this.ops === 'fast') {
      attended = scaledDotProductAttention(query, key, value, bias);
    } else {
      const scores = tf
        .matMul(query, key, false, true)
        .mul(1 / Math.sqrt(headSize))
        .add(bias);
      attended = tf.matMul(tf.softmax(scores), value);
    }
    const merged = attended.transpose([0, 2, 1, 3]).reshape([batchSize, length, width]);
    const output = this.linear(
      merged,
      layer.attentionProjectionWeight,
      layer.attentionProjectionBias,
    );
    return { output, present: { key, value } };
  }
}

/**
 * Creates a {@link GptModel} with GPT-2's initialization: weights and
 * embeddings `N(0, 0.02)`, residual projections `N(0, 0.02 / sqrt(2 L))`,
 * biases 0, layer-norm gains 1, drawn from a seeded {@link Random}.
 *
 * @example
 * ```ts
 * const model = createGptModel({ config: { vocabSize: 256, contextLength: 64, embeddingSize: 128, layerCount: 4, headCount: 4 }, seed: 7 });
 * ```
 */
export function createGptModel(options: CreateGptModelOptions): GptModel {
  const config = parseGpt2Config(options.config);
  return new GptModel(config, {
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.ops ? { ops: options.ops } : {}),
  });
}
