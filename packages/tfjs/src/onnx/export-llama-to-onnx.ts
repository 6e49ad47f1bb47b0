import { assertFiniteArray, InvalidArgumentError } from '@cohort/core';
import { type LlamaConfig, type LlamaConfigInput, parseLlamaConfig } from '../llama/llama-config';
import { rotaryInverseFrequencies } from '../llama/rotary-embedding';
import type { WeightMap, WeightTensor } from '../weights';
import { addCausalPaddingMask, decoderValueSpecs, lastPosition } from './decoder-graph';
import { OnnxGraphBuilder, onnx } from './onnx-graph-builder';

/** Options of {@link exportLlamaToOnnx}. */
export interface ExportLlamaToOnnxOptions {
  config: LlamaConfigInput | LlamaConfig;
  /** Hugging Face names and layouts (for example `LlamaModel.getWeights({ merged: true })`). */
  weights: WeightMap;
  /** Output the logits of the last position only, `[batch, 1, vocab]` (see `exportGpt2ToOnnx`). Default false. */
  lastPositionOnly?: boolean;
}

/** ONNX opset of the exported Llama graph (the ops it uses are all in opset 14 with these signatures). */
export const llamaOnnxOpsetVersion = 14;

const lowestFloat32 = -3.4028234663852886e38;

function transposed(tensor: WeightTensor): Float32Array {
  const [rows, columns] = tensor.shape as [number, number];
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) out[c * rows + r] = tensor.data[r * columns + c] as number;
  }
  return out;
}

/**
 * Exports a Llama-family model (Llama, SmolLM, Qwen2, Qwen3) to an ONNX
 * `ModelProto` (opset 14, standard ops only) with the inputs and outputs that
 * transformers.js feeds a decoder of `model_type` llama / qwen2 / qwen3:
 *
 * - inputs `input_ids` `[batch, seq]` int64, `attention_mask`
 *   `[batch, past + seq]` int64, `position_ids` `[batch, seq]` int64, and per
 *   layer `i` `past_key_values.i.key` / `.value`
 *   `[batch, num_key_value_heads, past, head_dim]` float32;
 * - outputs `logits` `[batch, seq, vocab]` and `present.i.key` / `.value`
 *   `[batch, num_key_value_heads, past + seq, head_dim]` (keys after rotation).
 *
 * The graph is the same computation as `LlamaModel.forward`: RMSNorm
 * decomposed (`x / sqrt(mean(x^2) + eps) * w`), rotary angles computed in the
 * graph from `position_ids` and the (scaled) inverse frequencies, per-head q/k
 * norms for Qwen3, q/k/v/o/MLP biases where the config has them, key/value
 * heads tiled for grouped-query attention, masked scores replaced by the
 * lowest float32, SwiGLU, and a tied or separate output head. Weights are
 * initializers, so LoRA adapters are merged before export. Throws naming a
 * missing or misshaped tensor, or the first NaN or infinite weight.
 *
 * @example
 * ```ts
 * const bytes = exportLlamaToOnnx({ config: model.config, weights: model.getWeights({ merged: true }) });
 * ```
 */
export function exportLlamaToOnnx(options: ExportLlamaToOnnxOptions): Uint8Array {
  const config = parseLlamaConfig(options.config);
  const { weights } = options;
  for (const [name, tensor] of Object.entries(weights))
    assertFiniteArray(`weights["${name}"].data`, tensor.data);
  const width = config.hiddenSize;
  const headSize = config.headSize;
  const heads = config.headCount;
  const keyValueHeads = config.keyValueHeadCount;
  const g = new OnnxGraphBuilder();
  const tensor = (name: string, shape: number[]): WeightTensor => {
    const found = weights[name];
    if (
      found === undefined ||
      found.shape.length !== shape.length ||
      found.shape.some((size, axis) => size !== shape[axis])
    ) {
      throw new InvalidArgumentError({
        argument: `weights["${name}"]`,
        value: found?.shape,
        message: `must be a tensor of shape [${shape.join(', ')}]`,
      });
    }
    return found;
  };
  const vector = (name: string, size: number): string =>
    g.floatTensor(name, [size], tensor(name, [size]).data);
  /** A `[out, in]` Linear weight, stored `[in, out]` for `MatMul(x, W)`. */
  const matrix = (name: string, outSize: number, inSize: number): string =>
    g.floatTensor(name, [inSize, outSize], transposed(tensor(name, [outSize, inSize])));
  const projection = (
    input: string,
    prefix: string,
    outSize: number,
    inSize: number,
    bias: boolean,
  ): string => {
    const product = g.op('MatMul', [input, matrix(`${prefix}.weight`, outSize, inSize)]);
    return bias ? g.op('Add', [product, vector(`${prefix}.bias`, outSize)]) : product;
  };
  const rmsNorm = (input: string, weightName: string, size: number): string => {
    const meanSquare = g.op('ReduceMean', [g.op('Mul', [input, input])], {
      axes: [-1],
      keepdims: 1,
    });
    const inverse = g.op('Reciprocal', [
      g.op('Sqrt', [g.op('Add', [meanSquare, g.floatScalar(config.rmsNormEpsilon)])]),
    ]);
    return g.op('Mul', [g.op('Mul', [input, inverse]), vector(weightName, size)]);
  };

  const allowed = addCausalPaddingMask(g); // [B, 1, S, T]

  // Rotary tables [B, 1, S, d]: angles = position * invFreq, repeated over both halves.
  const inverseFrequencies = g.floatTensor(
    'rotary_inverse_frequencies',
    [1, 1, headSize / 2],
    Float32Array.from(rotaryInverseFrequencies(config)),
  );
  const angles = g.op('Mul', [
    g.op('Unsqueeze', [
      g.op('Cast', ['position_ids'], { to: onnx.TensorProto.DataType.FLOAT }),
      g.int64Constant([2]),
    ]),
    inverseFrequencies,
  ]);
  const doubled = g.op('Concat', [angles, angles], { axis: -1 });
  const cos = g.op('Unsqueeze', [g.op('Cos', [doubled]), g.int64Constant([1])]);
  const sin = g.op('Unsqueeze', [g.op('Sin', [doubled]), g.int64Constant([1])]);
  const halves = g.int64Constant([headSize / 2, headSize / 2]);
  const rotate = (x: string): string => {
    const [first, second] = g.node('Split', [x, halves], { axis: -1 }, 2) as [string, string];
    const rotated = g.op('Concat', [g.op('Neg', [second]), first], { axis: -1 });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  };
  const toHeads = (x: string, count: number, normName: string | undefined): string => {
    let split = g.op('Reshape', [x, g.int64Constant([0, 0, count, headSize])]);
    if (normName !== undefined) split = rmsNorm(split, normName, headSize);
    return g.op('Transpose', [split], { perm: [0, 2, 1, 3] });
  };
  const groups = heads / keyValueHeads;
  const repeatHeads = (x: string): string => {
    if (groups === 1) return x;
    const tiled = g.op('Tile', [
      g.op('Unsqueeze', [x, g.int64Constant([2])]),
      g.int64Constant([1, 1, groups, 1, 1]),
    ]);
    return g.op('Reshape', [tiled, g.int64Constant([0, heads, -1, headSize])]);
  };

  const embedding = g.floatTensor(
    'model.embed_tokens.weight',
    [config.vocabSize, width],
    tensor('model.embed_tokens.weight', [config.vocabSize, width]).data,
  );
  let hidden = g.op('Gather', [embedding, 'input_ids'], { axis: 0 });
  const queryWidth = heads * headSize;
  const keyValueWidth = keyValueHeads * headSize;
  for (let layer = 0; layer < config.layerCount; layer++) {
    const prefix = `model.layers.${layer}`;
    const attention = `${prefix}.self_attn`;
    const h = rmsNorm(hidden, `${prefix}.input_layernorm.weight`, width);
    const biased = config.queryKeyValueBias;
    const query = rotate(
      toHeads(
        projection(h, `${attention}.q_proj`, queryWidth, width, biased),
        heads,
        config.queryKeyNorm ? `${attention}.q_norm.weight` : undefined,
      ),
    );
    const key = rotate(
      toHeads(
        projection(h, `${attention}.k_proj`, keyValueWidth, width, biased),
        keyValueHeads,
        config.queryKeyNorm ? `${attention}.k_norm.weight` : undefined,
      ),
    );
    const value = toHeads(
      projection(h, `${attention}.v_proj`, keyValueWidth, width, biased),
      keyValueHeads,
      undefined,
    );
    const presentKey = g.op(
      'Concat',
      [`past_key_values.${layer}.key`, key],
      { axis: 2 },
      `present.${layer}.key`,
    );
    const presentValue = g.op(
      'Concat',
      [`past_key_values.${layer}.value`, value],
      { axis: 2 },
      `present.${layer}.value`,
    );
    const scores = g.op('Mul', [
      g.op('MatMul', [query, g.op('Transpose', [repeatHeads(presentKey)], { perm: [0, 1, 3, 2] })]),
      g.floatScalar(1 / Math.sqrt(headSize)),
    ]);
    const masked = g.op('Where', [allowed, scores, g.floatScalar(lowestFloat32)]);
    const probabilities = g.op('Softmax', [masked], { axis: -1 });
    const context = g.op('Reshape', [
      g.op('Transpose', [g.op('MatMul', [probabilities, repeatHeads(presentValue)])], {
        perm: [0, 2, 1, 3],
      }),
      g.int64Constant([0, 0, queryWidth]),
    ]);
    hidden = g.op('Add', [
      hidden,
      projection(context, `${attention}.o_proj`, width, queryWidth, config.outputBias),
    ]);
    const h2 = rmsNorm(hidden, `${prefix}.post_attention_layernorm.weight`, width);
    const mlp = `${prefix}.mlp`;
    const inner = config.intermediateSize;
    const gate = projection(h2, `${mlp}.gate_proj`, inner, width, config.mlpBias);
    const up = projection(h2, `${mlp}.up_proj`, inner, width, config.mlpBias);
    const activated = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    hidden = g.op('Add', [
      hidden,
      projection(activated, `${mlp}.down_proj`, width, inner, config.mlpBias),
    ]);
  }
  const final = rmsNorm(
    options.lastPositionOnly ? lastPosition(g, hidden) : hidden,
    'model.norm.weight',
    width,
  );
  const head = config.tieWordEmbeddings
    ? g.op('Transpose', [embedding], { perm: [1, 0] })
    : matrix('lm_head.weight', config.vocabSize, width);
  g.op('MatMul', [final, head], {}, 'logits');

  const { inputs, outputs } = decoderValueSpecs({
    layerCount: config.layerCount,
    cacheHeads: keyValueHeads,
    headSize,
    vocabSize: config.vocabSize,
    lastPositionOnly: options.lastPositionOnly ?? false,
  });
  return g.toModel({
    name: `cohort_${config.modelType}`,
    inputs,
    outputs,
    opsetVersion: llamaOnnxOpsetVersion,
    producerName: '@cohort/tfjs',
    docString: `${config.modelType} (${config.layerCount} layers, width ${width}, ${heads} heads, ${keyValueHeads} key/value heads, vocabulary ${config.vocabSize}) exported by @cohort/tfjs`,
  });
}
