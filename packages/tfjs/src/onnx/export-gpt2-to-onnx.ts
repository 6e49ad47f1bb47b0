import { assertFiniteArray } from '@cohort/core';
import { type Gpt2ConfigInput, parseGpt2Config } from '../gpt2-config';
import { checkGpt2Weights } from '../reference-gpt2-weights';
import type { WeightMap, WeightTensor } from '../weights';
import { addCausalPaddingMask, decoderValueSpecs, lastPosition } from './decoder-graph';
import { OnnxGraphBuilder } from './onnx-graph-builder';

/** Options of {@link exportGpt2ToOnnx}. */
export interface ExportGpt2ToOnnxOptions {
  config: Gpt2ConfigInput;
  weights: WeightMap;
  /**
   * Output the logits of the last position only, `[batch, 1, vocab]`: what a
   * sampler reads (transformers.js needs every position's). Default false.
   */
  lastPositionOnly?: boolean;
}

/** ONNX opset of the exported graph: the newest ops it needs (Softmax on one axis, Split/Unsqueeze with input tensors) are opset 13. */
export const gpt2OnnxOpsetVersion = 14;

const lowestFloat32 = -3.4028234663852886e38;

/**
 * Exports a GPT-2 model to an ONNX `ModelProto` (opset 14, standard ops only)
 * with the inputs and outputs transformers.js expects of
 * `model_type: "gpt2"` with a KV cache:
 *
 * - inputs `input_ids` `[batch, seq]` int64, `attention_mask`
 *   `[batch, past + seq]` int64 (1 = real token, 0 = padding),
 *   `position_ids` `[batch, seq]` int64, and per layer `i`
 *   `past_key_values.i.key` / `.value` `[batch, heads, past, headDim]` float32
 *   (`past` may be 0);
 * - outputs `logits` `[batch, seq, vocab]` and `present.i.key` / `.value`
 *   `[batch, heads, past + seq, headDim]`.
 *
 * The query at step `s` may attend to key `j` when `j <= past + s` and
 * `attention_mask[b, j] = 1`; disallowed scores are replaced by the lowest
 * float32 before the softmax, so a fully masked (padding) row stays finite.
 * Layer norm is decomposed as `(x - mean) / sqrt(var + eps) * g + b`
 * (LayerNormalization is opset 17) and GELU is the tanh approximation;
 * the output head reuses the token embedding (tied weights). Throws
 * `CheckpointError` for weights that do not fit the config and
 * `NonFiniteError` naming the first NaN or infinite weight.
 *
 * @example
 * ```ts
 * const bytes = exportGpt2ToOnnx({ config, weights: model.getWeights() });
 * const session = await ort.InferenceSession.create(bytes);
 * ```
 */
export function exportGpt2ToOnnx(options: ExportGpt2ToOnnxOptions): Uint8Array {
  const config = parseGpt2Config(options.config);
  const { weights } = options;
  checkGpt2Weights(config, weights, 'weights');
  // An exported NaN would only surface as NaN logits in another runtime; name it here instead.
  for (const [name, tensor] of Object.entries(weights))
    assertFiniteArray(`weights["${name}"].data`, tensor.data);
  const width = config.embeddingSize;
  const heads = config.headCount;
  const headSize = width / heads;
  const g = new OnnxGraphBuilder();
  const weight = (name: string): string => {
    const tensor = weights[name] as WeightTensor;
    return g.floatTensor(name, tensor.shape, tensor.data);
  };

  const allowed = addCausalPaddingMask(g); // [B, 1, S, T]

  const layerNorm = (input: string, prefix: string): string => {
    const mean = g.op('ReduceMean', [input], { axes: [-1], keepdims: 1 });
    const centered = g.op('Sub', [input, mean]);
    const variance = g.op('ReduceMean', [g.op('Mul', [centered, centered])], {
      axes: [-1],
      keepdims: 1,
    });
    const deviation = g.op('Sqrt', [
      g.op('Add', [variance, g.floatScalar(config.layerNormEpsilon)]),
    ]);
    const normalized = g.op('Div', [centered, deviation]);
    return g.op('Add', [
      g.op('Mul', [normalized, weight(`${prefix}.weight`)]),
      weight(`${prefix}.bias`),
    ]);
  };
  const conv1d = (input: string, prefix: string): string =>
    g.op('Add', [g.op('MatMul', [input, weight(`${prefix}.weight`)]), weight(`${prefix}.bias`)]);
  const splitHeadsShape = g.int64Constant([0, 0, heads, headSize]);
  const mergeHeadsShape = g.int64Constant([0, 0, width]);

  const tokenEmbedding = weight('transformer.wte.weight');
  let hidden = g.op('Add', [
    g.op('Gather', [tokenEmbedding, 'input_ids'], { axis: 0 }),
    g.op('Gather', [weight('transformer.wpe.weight'), 'position_ids'], { axis: 0 }),
  ]);

  for (let layer = 0; layer < config.layerCount; layer++) {
    const prefix = `transformer.h.${layer}`;
    const qkv = conv1d(layerNorm(hidden, `${prefix}.ln_1`), `${prefix}.attn.c_attn`);
    const [query, key, value] = g
      .node('Split', [qkv, g.int64Constant([width, width, width])], { axis: -1 }, 3)
      .map((part) =>
        g.op('Transpose', [g.op('Reshape', [part, splitHeadsShape])], { perm: [0, 2, 1, 3] }),
      ) as [string, string, string];
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
      g.op('MatMul', [query, g.op('Transpose', [presentKey], { perm: [0, 1, 3, 2] })]),
      g.floatScalar(1 / Math.sqrt(headSize)),
    ]);
    const masked = g.op('Where', [allowed, scores, g.floatScalar(lowestFloat32)]);
    const probabilities = g.op('Softmax', [masked], { axis: -1 });
    const context = g.op('Reshape', [
      g.op('Transpose', [g.op('MatMul', [probabilities, presentValue])], { perm: [0, 2, 1, 3] }),
      mergeHeadsShape,
    ]);
    hidden = g.op('Add', [hidden, conv1d(context, `${prefix}.attn.c_proj`)]);

    const inner = conv1d(layerNorm(hidden, `${prefix}.ln_2`), `${prefix}.mlp.c_fc`);
    // GELU (tanh approximation): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    const cubic = g.op('Mul', [g.op('Mul', [inner, inner]), inner]);
    const tanh = g.op('Tanh', [
      g.op('Mul', [
        g.op('Add', [inner, g.op('Mul', [cubic, g.floatScalar(0.044715)])]),
        g.floatScalar(Math.sqrt(2 / Math.PI)),
      ]),
    ]);
    const activated = g.op('Mul', [
      g.op('Mul', [inner, g.floatScalar(0.5)]),
      g.op('Add', [tanh, g.floatScalar(1)]),
    ]);
    hidden = g.op('Add', [hidden, conv1d(activated, `${prefix}.mlp.c_proj`)]);
  }
  const final = layerNorm(
    options.lastPositionOnly ? lastPosition(g, hidden) : hidden,
    'transformer.ln_f',
  );
  g.op('MatMul', [final, g.op('Transpose', [tokenEmbedding], { perm: [1, 0] })], {}, 'logits');

  const { inputs, outputs } = decoderValueSpecs({
    layerCount: config.layerCount,
    cacheHeads: heads,
    headSize,
    vocabSize: config.vocabSize,
    lastPositionOnly: options.lastPositionOnly ?? false,
  });
  return g.toModel({
    name: 'cohort_gpt2',
    inputs,
    outputs,
    opsetVersion: gpt2OnnxOpsetVersion,
    producerName: '@cohort/tfjs',
    docString: `GPT-2 (${config.layerCount} layers, width ${width}, ${heads} heads, vocabulary ${config.vocabSize}) exported by @cohort/tfjs`,
  });
}
