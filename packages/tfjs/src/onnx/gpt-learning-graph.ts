import { type Gpt2Config, type Gpt2ConfigInput, parseGpt2Config } from '../gpt2-config';
import { LearningGraphParts, type LearningGraphWeight } from './learning-graph-parts';

/** Options of {@link buildGptLearningGraph}. */
export interface GptLearningGraphOptions {
  config: Gpt2ConfigInput | Gpt2Config;
  /** `true`: forward and backward (inputs `d_logp`, `d_entropy`; a gradient output per weight); `false`: `logp` and `entropy` only. */
  withGradients: boolean;
}

/** What {@link buildGptLearningGraph} returns. */
export interface GptLearningGraph {
  /** The serialized `ModelProto`. */
  model: Uint8Array;
  config: Gpt2Config;
  /** Every weight, in graph input order (all trainable). */
  weights: LearningGraphWeight[];
}

/**
 * The weights of a GPT-2 model as `GptModel.namedVariables()` names and
 * shapes them (Hugging Face names, Conv1D layout `[in, out]`, the tied head
 * read from `transformer.wte.weight`).
 */
export function gptLearningWeights(config: Gpt2Config): LearningGraphWeight[] {
  const { vocabSize, contextLength, embeddingSize: width } = config;
  const inner = config.innerSize ?? 4 * width;
  const weights: LearningGraphWeight[] = [];
  const add = (name: string, shape: number[]) => weights.push({ name, shape, trainable: true });
  add('transformer.wte.weight', [vocabSize, width]);
  add('transformer.wpe.weight', [contextLength, width]);
  for (let layer = 0; layer < config.layerCount; layer++) {
    const prefix = `transformer.h.${layer}`;
    add(`${prefix}.ln_1.weight`, [width]);
    add(`${prefix}.ln_1.bias`, [width]);
    add(`${prefix}.attn.c_attn.weight`, [width, 3 * width]);
    add(`${prefix}.attn.c_attn.bias`, [3 * width]);
    add(`${prefix}.attn.c_proj.weight`, [width, width]);
    add(`${prefix}.attn.c_proj.bias`, [width]);
    add(`${prefix}.ln_2.weight`, [width]);
    add(`${prefix}.ln_2.bias`, [width]);
    add(`${prefix}.mlp.c_fc.weight`, [width, inner]);
    add(`${prefix}.mlp.c_fc.bias`, [inner]);
    add(`${prefix}.mlp.c_proj.weight`, [inner, width]);
    add(`${prefix}.mlp.c_proj.bias`, [width]);
  }
  add('transformer.ln_f.weight', [width]);
  add('transformer.ln_f.bias', [width]);
  return weights;
}

interface SavedLayer {
  input: string;
  inputInverse: string;
  inputNormalized: string;
  h: string;
  query: string;
  key: string;
  value: string;
  probabilities: string;
  context: string;
  mid: string;
  postInverse: string;
  postNormalized: string;
  h2: string;
  preActivation: string;
  activationSigmoid: string;
  activated: string;
}

const sqrtTwoOverPi = Math.sqrt(2 / Math.PI);
const cubic = 0.044715;

/**
 * Builds a GPT-2 model's training step as a plain ONNX graph, the same
 * computation as `GptModel.forward` followed by `tokenLogProbs` with right
 * padding, and with `withGradients` the reverse-mode derivative of
 * `sum(d_logp * logp + d_entropy * entropy)` with respect to every weight
 * (written by hand as forward ops: onnxruntime runs inference only).
 *
 * Forward (Radford et al. 2019): `x = wte[ids] + wpe[0 .. T-1]`; per layer
 * `x += c_proj(attn(c_attn(ln_1(x))))`, `x += c_proj(gelu(c_fc(ln_2(x))))`;
 * logits `ln_f(x) wte^T` (tied head). LayerNorm with bias and the config's
 * epsilon; GELU with the tanh approximation computed as `x sigmoid(2u)`,
 * `u = sqrt(2/pi) (x + 0.044715 x^3)`, as `gelu.ts` does.
 *
 * Inputs: `input_ids` int64 `[B, T]`; `attention_mask` float `[B, T]` (1 on
 * real tokens, padding on the right); `inverse_temperature` float scalar;
 * every weight of {@link gptLearningWeights}; with gradients `d_logp` and
 * `d_entropy` float `[B, T]`. Outputs `logp` and `entropy` `[B, T]` (the
 * convention of `tokenLogProbs`, see `buildLlamaLearningGraph`) and
 * `gradient.<name>` per weight.
 *
 * The backward formulas: LayerNorm (Ba et al. 2016)
 * `dx = r (s - mean(s) - xhat mean(s xhat))`, `s = gain dy`, `dgain = sum(dy xhat)`,
 * `dbias = sum(dy)`; GELU `s + x s (1 - s) 2u'`, `s = sigmoid(2u)`,
 * `u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)`; softmax attention and the
 * log-prob head as in `LearningGraphParts`; the position embedding's gradient
 * is `dx` summed over the batch on rows `0 .. T-1`; the token embedding's is
 * the tied head's `dlogits^T h` plus `dx` scattered onto the tokens.
 *
 * @example
 * ```ts
 * const { model, weights } = buildGptLearningGraph({ config: gpt.config, withGradients: true });
 * ```
 */
export function buildGptLearningGraph(options: GptLearningGraphOptions): GptLearningGraph {
  const config = parseGpt2Config(options.config);
  const weights = gptLearningWeights(config);
  const { vocabSize, contextLength, embeddingSize: width, headCount: heads } = config;
  const headSize = width / heads;
  const epsilon = config.layerNormEpsilon;
  const parts = new LearningGraphParts(weights);
  const { g } = parts;
  const ints = (values: number[]) => parts.ints(values);
  const scalar = (value: number) => parts.scalar(value);
  const add = (a: string, b: string) => parts.add(a, b);
  const mul = (a: string, b: string) => parts.mul(a, b);
  const sub = (a: string, b: string) => parts.sub(a, b);
  const allowed = parts.attentionMask(1);
  const headShape = parts.headShape(heads, headSize);
  const attentionScale = 1 / Math.sqrt(headSize);

  const layerNorm = (x: string, name: string) => {
    const centered = sub(x, parts.lastMean(x));
    const inverse = g.op('Reciprocal', [
      g.op('Sqrt', [add(parts.lastMean(mul(centered, centered)), scalar(epsilon))]),
    ]);
    const normalized = mul(centered, inverse);
    return { inverse, normalized, output: add(mul(normalized, `${name}.weight`), `${name}.bias`) };
  };
  /** Returns `dx`; records `dgain = sum(dy xhat)` and `dbias = sum(dy)` over rows. */
  const layerNormBackward = (dy: string, inverse: string, normalized: string, name: string) => {
    const scaled = mul(dy, `${name}.weight`);
    parts.gradient(`${name}.weight`, () => parts.rowSum(mul(dy, normalized)));
    parts.gradient(`${name}.bias`, () => parts.rowSum(dy));
    const centered = sub(scaled, parts.lastMean(scaled));
    return mul(inverse, sub(centered, mul(normalized, parts.lastMean(mul(scaled, normalized)))));
  };
  const linear = (x: string, name: string) => parts.linear(x, `${name}.weight`, `${name}.bias`);
  const linearBackward = (x: string, dy: string, name: string) =>
    parts.linearBackward(x, dy, `${name}.weight`, `${name}.bias`);
  /** `[N, E]` to `[B, H, T, d]`. */
  const toHeads = (x: string) =>
    g.op('Transpose', [g.op('Reshape', [x, headShape])], { perm: [0, 2, 1, 3] });
  /** `[B, H, T, d]` to `[N, E]`. */
  const fromHeads = (x: string) =>
    g.op('Reshape', [g.op('Transpose', [x], { perm: [0, 2, 1, 3] }), ints([-1, width])]);
  const thirds = ints([width, width, width]);

  // Forward: token plus position embeddings, kept as N = B * T rows.
  const tokens = g.op('Gather', ['transformer.wte.weight', parts.flatIds], { axis: 0 }); // [N, E]
  const positionRows = g.op('Gather', ['transformer.wpe.weight', parts.positions], { axis: 0 }); // [T, E]
  const batchShape = g.op('Concat', [ints([-1]), parts.sequenceLength, ints([width])], { axis: 0 });
  let x = g.op('Reshape', [
    add(g.op('Reshape', [tokens, batchShape]), positionRows),
    ints([-1, width]),
  ]);
  const saved: SavedLayer[] = [];
  for (let layer = 0; layer < config.layerCount; layer++) {
    const prefix = `transformer.h.${layer}`;
    const input = x;
    const norm = layerNorm(input, `${prefix}.ln_1`);
    const h = norm.output;
    const [queryPart, keyPart, valuePart] = g.node(
      'Split',
      [linear(h, `${prefix}.attn.c_attn`), thirds],
      { axis: -1 },
      3,
    ) as [string, string, string];
    // Queries scaled by 1 / sqrt(d) before the product.
    const query = mul(toHeads(queryPart), scalar(attentionScale));
    const key = toHeads(keyPart);
    const value = toHeads(valuePart);
    const attended = parts.attend(query, key, value, allowed);
    const context = fromHeads(attended.context);
    const mid = add(input, linear(context, `${prefix}.attn.c_proj`));
    const post = layerNorm(mid, `${prefix}.ln_2`);
    const preActivation = linear(post.output, `${prefix}.mlp.c_fc`);
    const twiceInner = mul(
      mul(add(mul(mul(preActivation, preActivation), scalar(cubic)), scalar(1)), preActivation),
      scalar(2 * sqrtTwoOverPi),
    );
    const activationSigmoid = g.op('Sigmoid', [twiceInner]);
    const activated = mul(preActivation, activationSigmoid);
    x = add(mid, linear(activated, `${prefix}.mlp.c_proj`));
    saved.push({
      input,
      inputInverse: norm.inverse,
      inputNormalized: norm.normalized,
      h,
      query,
      key,
      value,
      probabilities: attended.probabilities,
      context,
      mid,
      postInverse: post.inverse,
      postNormalized: post.normalized,
      h2: post.output,
      preActivation,
      activationSigmoid,
      activated,
    });
  }
  const final = layerNorm(x, 'transformer.ln_f');
  const logits = g.op('Gemm', [final.output, 'transformer.wte.weight'], { transB: 1 }); // [N, V]
  const head = parts.logProbsHead(logits);

  if (options.withGradients) {
    const dLogits = parts.logProbsHeadBackward(head, vocabSize); // [N, V]
    let dx = layerNormBackward(
      g.op('MatMul', [dLogits, 'transformer.wte.weight']),
      final.inverse,
      final.normalized,
      'transformer.ln_f',
    );
    for (let layer = config.layerCount - 1; layer >= 0; layer--) {
      const prefix = `transformer.h.${layer}`;
      const s = saved[layer] as SavedLayer;
      // MLP half: x = mid + c_proj(gelu(c_fc(ln_2(mid)))).
      const dActivated = linearBackward(s.activated, dx, `${prefix}.mlp.c_proj`);
      const sigmoid = s.activationSigmoid;
      const innerDerivative = add(
        mul(mul(s.preActivation, s.preActivation), scalar(6 * sqrtTwoOverPi * cubic)),
        scalar(2 * sqrtTwoOverPi),
      );
      const geluDerivative = add(
        sigmoid,
        mul(mul(mul(s.preActivation, sigmoid), sub(scalar(1), sigmoid)), innerDerivative),
      );
      const dH2 = linearBackward(s.h2, mul(dActivated, geluDerivative), `${prefix}.mlp.c_fc`);
      const dMid = add(
        dx,
        layerNormBackward(dH2, s.postInverse, s.postNormalized, `${prefix}.ln_2`),
      );
      // Attention half: mid = input + c_proj(attn(c_attn(ln_1(input)))).
      const dContext = toHeads(linearBackward(s.context, dMid, `${prefix}.attn.c_proj`));
      const backward = parts.attendBackward(dContext, s);
      const dQkv = g.op(
        'Concat',
        [
          fromHeads(mul(backward.dQuery, scalar(attentionScale))),
          fromHeads(backward.dKey),
          fromHeads(backward.dValue),
        ],
        { axis: -1 },
      );
      const dH = linearBackward(s.h, dQkv, `${prefix}.attn.c_attn`);
      dx = add(dMid, layerNormBackward(dH, s.inputInverse, s.inputNormalized, `${prefix}.ln_1`));
    }
    // Position embedding: dx summed over the batch onto rows 0 .. T-1, the rest of the table 0.
    parts.gradient('transformer.wpe.weight', () => {
      const perPosition = g.op('ReduceSum', [g.op('Reshape', [dx, batchShape]), ints([0])], {
        keepdims: 0,
      }); // [T, E]
      const tail = sub(ints([contextLength]), parts.sequenceLength);
      return g.op('Pad', [
        perPosition,
        g.op('Concat', [ints([0, 0]), tail, ints([0])], { axis: 0 }),
      ]);
    });
    parts.embeddingGradient(
      'transformer.wte.weight',
      [vocabSize, width],
      dx,
      g.op('Gemm', [dLogits, final.output], { transA: 1 }),
    );
  }

  const model = parts.toModel({
    name: `cohort_gpt2_${options.withGradients ? 'learning' : 'log_probs'}`,
    weights,
    withGradients: options.withGradients,
    docString: `gpt2 ${options.withGradients ? 'forward and backward' : 'forward (log-probs)'} (${config.layerCount} layers, width ${width}, ${heads} heads, vocabulary ${vocabSize}) built by @cohort/tfjs`,
  });
  return { model, config, weights };
}
