import { type LlamaConfig, type LlamaConfigInput, parseLlamaConfig } from '../llama/llama-config';
import { type LoraOptions, type LoraOptionsInput, parseLoraOptions } from '../llama/lora-options';
import {
  LearningGraphParts,
  type LearningGraphWeight,
  learningGradientOutputName,
  learningGraphOpsetVersion,
} from './learning-graph-parts';
import { onnx } from './onnx-graph-builder';

/** ONNX opset of the learning graphs (see {@link learningGraphOpsetVersion}). */
export const llamaLearningOpsetVersion = learningGraphOpsetVersion;

/** Options of {@link buildLlamaLearningGraph}. */
export interface LlamaLearningGraphOptions {
  config: LlamaConfigInput | LlamaConfig;
  /** `true`: forward and backward (inputs `d_logp`, outputs a gradient per trainable weight); `false`: `logp` only. */
  withGradients: boolean;
  /**
   * LoRA adapters (as `LlamaModel`'s `lora`): each targeted projection adds
   * `(alpha / rank) (x A) B`; only the adapters are trainable, and the base
   * weights are inputs with no gradient.
   */
  lora?: LoraOptionsInput | LoraOptions;
}

/** One weight of the graph: its name (a graph input), shape in `LlamaModel` layout, and whether it gets a gradient. */
export type LlamaLearningWeight = LearningGraphWeight;

/** What {@link buildLlamaLearningGraph} returns. */
export interface LlamaLearningGraph {
  /** The serialized `ModelProto`. */
  model: Uint8Array;
  config: LlamaConfig;
  /** The LoRA options, when the graph has adapters. */
  lora: LoraOptions | undefined;
  /** Every weight, in graph input order. */
  weights: LlamaLearningWeight[];
}

/** The graph output holding the gradient of the weight `name`. */
export const llamaGradientOutputName = learningGradientOutputName;

/**
 * The weights of a Llama-family model in the layout of `LlamaModel`'s
 * variables: Hugging Face names, linear weights `[in, out]`, the embedding
 * `[V, E]`, an untied head `lm_head.weight` `[E, V]`; with `lora`, the frozen
 * base weights (`trainable: false`) and then the adapters `<module>.lora_A.weight`
 * `[in, rank]` and `.lora_B.weight` `[rank, out]` of every targeted projection.
 */
export function llamaLearningWeights(
  config: LlamaConfig,
  lora?: LoraOptions,
): LlamaLearningWeight[] {
  const { vocabSize, hiddenSize: width, intermediateSize: inner, headSize } = config;
  const queryWidth = config.headCount * headSize;
  const keyValueWidth = config.keyValueHeadCount * headSize;
  const trainable = lora === undefined;
  const weights: LlamaLearningWeight[] = [];
  const adapters: LlamaLearningWeight[] = [];
  const add = (name: string, shape: number[]) => weights.push({ name, shape, trainable });
  add('model.embed_tokens.weight', [vocabSize, width]);
  const projection = (name: string, inSize: number, outSize: number, bias: boolean) => {
    add(`${name}.weight`, [inSize, outSize]);
    if (bias) add(`${name}.bias`, [outSize]);
    const module = name.slice(name.lastIndexOf('.') + 1);
    if (lora?.targets.includes(module as LoraOptions['targets'][number])) {
      adapters.push(
        { name: `${name}.lora_A.weight`, shape: [inSize, lora.rank], trainable: true },
        { name: `${name}.lora_B.weight`, shape: [lora.rank, outSize], trainable: true },
      );
    }
  };
  for (let layer = 0; layer < config.layerCount; layer++) {
    const prefix = `model.layers.${layer}`;
    add(`${prefix}.input_layernorm.weight`, [width]);
    projection(`${prefix}.self_attn.q_proj`, width, queryWidth, config.queryKeyValueBias);
    projection(`${prefix}.self_attn.k_proj`, width, keyValueWidth, config.queryKeyValueBias);
    if (config.queryKeyNorm) {
      add(`${prefix}.self_attn.q_norm.weight`, [headSize]);
      add(`${prefix}.self_attn.k_norm.weight`, [headSize]);
    }
    projection(`${prefix}.self_attn.v_proj`, width, keyValueWidth, config.queryKeyValueBias);
    projection(`${prefix}.self_attn.o_proj`, queryWidth, width, config.outputBias);
    add(`${prefix}.post_attention_layernorm.weight`, [width]);
    projection(`${prefix}.mlp.gate_proj`, width, inner, config.mlpBias);
    projection(`${prefix}.mlp.up_proj`, width, inner, config.mlpBias);
    projection(`${prefix}.mlp.down_proj`, inner, width, config.mlpBias);
  }
  add('model.norm.weight', [width]);
  if (!config.tieWordEmbeddings) add('lm_head.weight', [width, vocabSize]);
  return [...weights, ...adapters];
}

interface SavedLayer {
  input: string;
  inputInverse: string;
  inputNormalized: string;
  h: string;
  /** Qwen3's per-head RMSNorms of the queries and keys (before RoPE), when the config has them. */
  queryNorm: { inverse: string; normalized: string } | undefined;
  keyNorm: { inverse: string; normalized: string } | undefined;
  rotatedQuery: string;
  rotatedKey: string;
  value: string;
  probabilities: string;
  context: string;
  mid: string;
  postInverse: string;
  postNormalized: string;
  h2: string;
  gate: string;
  gateSigmoid: string;
  up: string;
  activated: string;
}

/**
 * Builds a Llama-family model's training step as a plain ONNX graph (onnxruntime
 * runs inference only, so the backward pass is written by hand as forward ops):
 * the same computation as `LlamaModel.forward` followed by `tokenLogProbs`
 * with right padding, and, with `withGradients`, the reverse-mode derivative
 * of `sum(d_logp * logp + d_entropy * entropy)` with respect to every trainable weight.
 *
 * Inputs: `input_ids` int64 `[B, T]`; `attention_mask` float `[B, T]` (1 on
 * real tokens, padding on the right); `rotary_cos` / `rotary_sin` float
 * `[T, headSize]` (the rotary tables of positions `0 .. T-1`);
 * `inverse_temperature` float scalar `1 / T`; every weight of
 * {@link llamaLearningWeights} under its name; with gradients, `d_logp` and
 * `d_entropy` float `[B, T]`. Outputs: `logp` `[B, T]`,
 * `logp[b, t] = log_softmax(z[b, t-1] / T)[x[b, t]]`, and `entropy` `[B, T]`,
 * the entropy of that distribution (both 0 for `t = 0` and padding, as
 * `tokenLogProbs` gives them), and per trainable weight `gradient.<name>`,
 * the gradient of `sum(d_logp logp + d_entropy entropy)`.
 *
 * The backward formulas: RMSNorm (Zhang and Sennrich 2019)
 * `dx = r (s - xhat mean(s xhat))`, `s = w dy`; SwiGLU (Shazeer 2020)
 * `dg = d u s (1 + g (1 - s))`, `du = d g s`; softmax attention
 * `dS = P (dP - rowsum(dP P))`; RoPE (Su et al. 2021) by the transposed
 * rotation `dx = dy cos + rot^T(dy sin)`, `rot^T(z) = cat(z2, -z1)`;
 * log-softmax and entropy `dz = dlogp (onehot(y) - p) - dH p (log p + H)`; the embedding by
 * scatter-add of row gradients (and, tied, the head's `dz^T h`).
 * Grouped-query attention runs each key/value head against its `g` query
 * heads stacked along the rows (`[B, Hkv, g T, d]`), so no key or value is
 * tiled and their gradients need no reduction.
 *
 * With `lora`, only the adapters get gradients, and no gradient of a frozen
 * weight is computed (the backward pass carries `dx` only through them).
 *
 * Qwen3's per-head q/k norms (RMSNorm over each head's `d` features with a
 * `[d]` weight, before RoPE) take the same RMSNorm backward per head, their
 * weights' gradients summed over rows and heads.
 *
 * @example
 * ```ts
 * const { model, weights } = buildLlamaLearningGraph({ config: llama.config, withGradients: true });
 * ```
 */
export function buildLlamaLearningGraph(options: LlamaLearningGraphOptions): LlamaLearningGraph {
  const config = parseLlamaConfig(options.config);
  const lora = options.lora === undefined ? undefined : parseLoraOptions(options.lora);
  const weights = llamaLearningWeights(config, lora);
  const loraScale = lora === undefined ? 0 : (lora.alpha ?? lora.rank) / lora.rank;
  const { hiddenSize: width, headSize, vocabSize } = config;
  const heads = config.headCount;
  const keyValueHeads = config.keyValueHeadCount;
  const groups = heads / keyValueHeads;
  const epsilon = config.rmsNormEpsilon;
  const parts = new LearningGraphParts(weights);
  const { g } = parts;
  const scalar = (value: number) => parts.scalar(value);
  const ints = (values: number[]) => parts.ints(values);
  const lastMean = (x: string) => parts.lastMean(x);
  const add = (a: string, b: string) => parts.add(a, b);
  const mul = (a: string, b: string) => parts.mul(a, b);
  const sub = (a: string, b: string) => parts.sub(a, b);
  const gradient = (name: string, build: () => string) => parts.gradient(name, build);

  // Shapes: N = B * T rows of activations kept 2-D, so every projection is one Gemm.
  const queryHeadShape = parts.headShape(heads, headSize);
  const keyValueHeadShape =
    groups === 1 ? queryHeadShape : parts.headShape(keyValueHeads, headSize);
  // Attention mask [B, 1, g T, T]: causal (key <= query) for each of the g stacked query heads, and real keys.
  const allowed = parts.attentionMask(groups);

  const rmsNorm = (x: string, weight: string) => {
    const inverse = g.op('Reciprocal', [g.op('Sqrt', [add(lastMean(mul(x, x)), scalar(epsilon))])]);
    const normalized = mul(x, inverse);
    return { inverse, normalized, output: mul(normalized, weight) };
  };
  /** Returns `dx`; records the gradient of `weight`, `sum(dy xhat)` over rows. */
  const rmsNormBackward = (dy: string, inverse: string, normalized: string, weight: string) => {
    const scaled = mul(dy, weight);
    gradient(weight, () => parts.rowSum(mul(dy, normalized)));
    return mul(inverse, sub(scaled, mul(normalized, lastMean(mul(scaled, normalized)))));
  };
  /** RMSNorm backward over each head of `[B, heads, T, d]`: the weight's gradient sums rows and heads. */
  const headNormBackward = (
    dy: string,
    norm: { inverse: string; normalized: string },
    weight: string,
  ) => {
    const scaled = mul(dy, weight);
    gradient(weight, () =>
      parts.rowSum(g.op('Reshape', [mul(dy, norm.normalized), ints([-1, headSize])])),
    );
    return mul(
      norm.inverse,
      sub(scaled, mul(norm.normalized, lastMean(mul(scaled, norm.normalized)))),
    );
  };
  const names = new Set(weights.map(({ name }) => name));
  const hasBias = (name: string) => names.has(`${name}.bias`);
  const adapted = (name: string) => names.has(`${name}.lora_A.weight`);
  /** `x A` of each adapted projection (by name), saved for the backward pass. */
  const adapterInputs = new Map<string, string>();
  /** `x W + b`, plus `s (x A) B` when adapted (Hu et al. 2021, eq. 3). */
  const project = (x: string, name: string) => {
    const y = parts.linear(x, `${name}.weight`, hasBias(name) ? `${name}.bias` : undefined);
    if (!adapted(name)) return y;
    const low = g.op('MatMul', [x, `${name}.lora_A.weight`]);
    adapterInputs.set(name, low);
    return add(y, mul(g.op('MatMul', [low, `${name}.lora_B.weight`]), scalar(loraScale)));
  };
  /**
   * Records the gradients of `name`'s trainable weights and returns `dx`:
   * `dW = x^T dy`, `db = sum(dy)`; adapted, with `h = x A` and `e = dy B^T`,
   * `dB = s h^T dy`, `dA = s x^T e`, and `dx = dy W^T + s e A^T`.
   */
  const projectBackward = (x: string, dy: string, name: string) => {
    const bias = hasBias(name) ? `${name}.bias` : undefined;
    const dx = parts.linearBackward(x, dy, `${name}.weight`, bias);
    if (!adapted(name)) return dx;
    const low = adapterInputs.get(name) as string;
    const s = scalar(loraScale);
    gradient(`${name}.lora_B.weight`, () => mul(g.op('Gemm', [low, dy], { transA: 1 }), s));
    const dLow = g.op('Gemm', [dy, `${name}.lora_B.weight`], { transB: 1 });
    gradient(`${name}.lora_A.weight`, () => mul(g.op('Gemm', [x, dLow], { transA: 1 }), s));
    return add(dx, mul(g.op('Gemm', [dLow, `${name}.lora_A.weight`], { transB: 1 }), s));
  };
  const halves = ints([headSize / 2, headSize / 2]);
  /** `x cos + cat(-x2, x1) sin`; with `transposed`, `x cos + cat(x2 sin, -x1 sin)` (the gradient). */
  const rotate = (x: string, transposed: boolean) => {
    if (!transposed) {
      const [first, second] = g.node('Split', [x, halves], { axis: -1 }, 2) as [string, string];
      const rotated = g.op('Concat', [g.op('Neg', [second]), first], { axis: -1 });
      return add(mul(x, 'rotary_cos'), mul(rotated, 'rotary_sin'));
    }
    const withSin = mul(x, 'rotary_sin');
    const [first, second] = g.node('Split', [withSin, halves], { axis: -1 }, 2) as [string, string];
    return add(mul(x, 'rotary_cos'), g.op('Concat', [second, g.op('Neg', [first])], { axis: -1 }));
  };
  /** `[N, count d]` to `[B, count, T, d]`. */
  const toHeads = (x: string, count: number) =>
    g.op(
      'Transpose',
      [g.op('Reshape', [x, count === heads ? queryHeadShape : keyValueHeadShape])],
      {
        perm: [0, 2, 1, 3],
      },
    );
  /** `[B, count, T, d]` to `[N, count d]`. */
  const fromHeads = (x: string, count: number) =>
    g.op('Reshape', [g.op('Transpose', [x], { perm: [0, 2, 1, 3] }), ints([-1, count * headSize])]);
  const stackGroups = (x: string) =>
    groups === 1 ? x : g.op('Reshape', [x, ints([0, keyValueHeads, -1, headSize])]);
  const unstackGroups = (x: string) =>
    groups === 1 ? x : g.op('Reshape', [x, ints([0, heads, -1, headSize])]);
  const attentionScale = 1 / Math.sqrt(headSize);

  // Forward.
  let x = g.op('Gather', ['model.embed_tokens.weight', parts.flatIds], { axis: 0 }); // [N, E]
  const saved: SavedLayer[] = [];
  for (let layer = 0; layer < config.layerCount; layer++) {
    const prefix = `model.layers.${layer}`;
    const attention = `${prefix}.self_attn`;
    const mlp = `${prefix}.mlp`;
    const input = x;
    const norm = rmsNorm(input, `${prefix}.input_layernorm.weight`);
    const h = norm.output;
    let queryHeads = toHeads(project(h, `${attention}.q_proj`), heads);
    let keyHeads = toHeads(project(h, `${attention}.k_proj`), keyValueHeads);
    let queryNorm: SavedLayer['queryNorm'];
    let keyNorm: SavedLayer['keyNorm'];
    if (config.queryKeyNorm) {
      // Qwen3: RMSNorm over each head's features (the last axis of [B, H, T, d]), before RoPE.
      const normedQuery = rmsNorm(queryHeads, `${attention}.q_norm.weight`);
      const normedKey = rmsNorm(keyHeads, `${attention}.k_norm.weight`);
      queryNorm = normedQuery;
      keyNorm = normedKey;
      queryHeads = normedQuery.output;
      keyHeads = normedKey.output;
    }
    // Queries scaled by 1 / sqrt(d) before the product; the stacked layout [B, Hkv, g T, d].
    const rotatedQuery = stackGroups(mul(rotate(queryHeads, false), scalar(attentionScale)));
    const rotatedKey = rotate(keyHeads, false);
    const value = toHeads(project(h, `${attention}.v_proj`), keyValueHeads);
    const attended = parts.attend(rotatedQuery, rotatedKey, value, allowed);
    const probabilities = attended.probabilities;
    const context = fromHeads(unstackGroups(attended.context), heads);
    const mid = add(input, project(context, `${attention}.o_proj`));
    const post = rmsNorm(mid, `${prefix}.post_attention_layernorm.weight`);
    const gate = project(post.output, `${mlp}.gate_proj`);
    const up = project(post.output, `${mlp}.up_proj`);
    const gateSigmoid = g.op('Sigmoid', [gate]);
    const activated = mul(mul(gate, gateSigmoid), up);
    x = add(mid, project(activated, `${mlp}.down_proj`));
    saved.push({
      input,
      inputInverse: norm.inverse,
      inputNormalized: norm.normalized,
      h,
      queryNorm,
      keyNorm,
      rotatedQuery,
      rotatedKey,
      value,
      probabilities,
      context,
      mid,
      postInverse: post.inverse,
      postNormalized: post.normalized,
      h2: post.output,
      gate,
      gateSigmoid,
      up,
      activated,
    });
  }
  const final = rmsNorm(x, 'model.norm.weight');
  const logits = config.tieWordEmbeddings
    ? g.op('Gemm', [final.output, 'model.embed_tokens.weight'], { transB: 1 })
    : g.op('MatMul', [final.output, 'lm_head.weight']); // [N, V]
  const head = parts.logProbsHead(logits);

  if (options.withGradients) {
    // Backward of logp = shiftRight(z[y] - lse) * mask and entropy = shiftRight(lse - sum(p z)) * mask,
    // z the logits over the temperature: dz = dlogp (onehot(y) - p) - dH p (log p + H), then dlogits = dz / T.
    const dLogits = parts.logProbsHeadBackward(head, vocabSize); // [N, V]
    let dFinal: string;
    if (config.tieWordEmbeddings) {
      dFinal = g.op('MatMul', [dLogits, 'model.embed_tokens.weight']);
    } else {
      gradient('lm_head.weight', () => g.op('Gemm', [final.output, dLogits], { transA: 1 }));
      dFinal = g.op('Gemm', [dLogits, 'lm_head.weight'], { transB: 1 });
    }
    let dx = rmsNormBackward(dFinal, final.inverse, final.normalized, 'model.norm.weight');
    for (let layer = config.layerCount - 1; layer >= 0; layer--) {
      const prefix = `model.layers.${layer}`;
      const attention = `${prefix}.self_attn`;
      const mlp = `${prefix}.mlp`;
      const s = saved[layer] as SavedLayer;
      // MLP half: x = mid + down(silu(gate) * up).
      const dActivated = projectBackward(s.activated, dx, `${mlp}.down_proj`);
      const dUp = mul(dActivated, mul(s.gate, s.gateSigmoid));
      const dGate = mul(
        mul(mul(dActivated, s.up), s.gateSigmoid),
        add(scalar(1), mul(s.gate, sub(scalar(1), s.gateSigmoid))),
      );
      const dH2 = add(
        projectBackward(s.h2, dGate, `${mlp}.gate_proj`),
        projectBackward(s.h2, dUp, `${mlp}.up_proj`),
      );
      const postWeight = `${prefix}.post_attention_layernorm.weight`;
      const dMid = add(dx, rmsNormBackward(dH2, s.postInverse, s.postNormalized, postWeight));
      // Attention half: mid = input + o(attn(h)).
      const dContext = stackGroups(
        toHeads(projectBackward(s.context, dMid, `${attention}.o_proj`), heads),
      );
      const backward = parts.attendBackward(dContext, {
        query: s.rotatedQuery,
        key: s.rotatedKey,
        value: s.value,
        probabilities: s.probabilities,
      });
      const dValue = backward.dValue;
      let dQuery = mul(rotate(unstackGroups(backward.dQuery), true), scalar(attentionScale));
      let dKey = rotate(backward.dKey, true);
      if (s.queryNorm !== undefined && s.keyNorm !== undefined) {
        dQuery = headNormBackward(dQuery, s.queryNorm, `${attention}.q_norm.weight`);
        dKey = headNormBackward(dKey, s.keyNorm, `${attention}.k_norm.weight`);
      }
      const dH = add(
        add(
          projectBackward(s.h, fromHeads(dQuery, heads), `${attention}.q_proj`),
          projectBackward(s.h, fromHeads(dKey, keyValueHeads), `${attention}.k_proj`),
        ),
        projectBackward(s.h, fromHeads(dValue, keyValueHeads), `${attention}.v_proj`),
      );
      const inputWeight = `${prefix}.input_layernorm.weight`;
      dx = add(dMid, rmsNormBackward(dH, s.inputInverse, s.inputNormalized, inputWeight));
    }
    // The embedding's gradient: the rows of dx scattered onto their tokens, plus (tied) the head's dz^T h.
    parts.embeddingGradient(
      'model.embed_tokens.weight',
      [vocabSize, width],
      dx,
      config.tieWordEmbeddings ? g.op('Gemm', [dLogits, final.output], { transA: 1 }) : undefined,
    );
  }

  const float = onnx.TensorProto.DataType.FLOAT;
  const model = parts.toModel({
    name: `cohort_${config.modelType}_${options.withGradients ? 'learning' : 'log_probs'}`,
    weights,
    withGradients: options.withGradients,
    extraInputs: [
      { name: 'rotary_cos', elementType: float, dimensions: ['sequence', headSize] },
      { name: 'rotary_sin', elementType: float, dimensions: ['sequence', headSize] },
    ],
    docString: `${config.modelType} ${options.withGradients ? 'forward and backward' : 'forward (log-probs)'} (${config.layerCount} layers, width ${width}, ${heads} heads, ${keyValueHeads} key/value heads, vocabulary ${vocabSize}) built by @cohort/tfjs`,
  });
  return { model, config, lora, weights };
}
