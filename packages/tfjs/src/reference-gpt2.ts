import { InvalidArgumentError, Random } from '@cohort/core';
import { type Gpt2Config, type Gpt2ConfigInput, parseGpt2Config } from './gpt2-config';
import { checkGpt2Weights, gpt2WeightShapes } from './reference-gpt2-weights';
import type { WeightMap } from './weights';

/** Options of {@link referenceGpt2Logits}. */
export interface ReferenceGpt2Options {
  config: Gpt2ConfigInput;
  weights: WeightMap;
  /** One sequence of token ids, `[T]`. */
  tokenIds: readonly number[];
  /** Position of each token. Default `0, 1, ..., T-1`. */
  positionIds?: readonly number[];
}

/** Reads a weight as a float64 copy, so the reference accumulates in double precision. */
function weight(weights: WeightMap, name: string): Float64Array {
  return Float64Array.from((weights[name] as { data: Float32Array }).data);
}

function layerNorm(
  x: Float64Array,
  gain: Float64Array,
  bias: Float64Array,
  epsilon: number,
): Float64Array {
  const n = x.length;
  let mean = 0;
  for (const value of x) mean += value;
  mean /= n;
  let variance = 0;
  for (const value of x) variance += (value - mean) ** 2;
  variance /= n;
  const scale = 1 / Math.sqrt(variance + epsilon);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++)
    y[i] = ((x[i] as number) - mean) * scale * (gain[i] as number) + (bias[i] as number);
  return y;
}

/** `x W + b` with `W` stored `[in, out]` (GPT-2's Conv1D layout). */
function conv1d(x: Float64Array, w: Float64Array, b: Float64Array): Float64Array {
  const inputs = x.length;
  const outputs = b.length;
  const y = Float64Array.from(b);
  for (let i = 0; i < inputs; i++) {
    const xi = x[i] as number;
    for (let o = 0; o < outputs; o++) y[o] = (y[o] as number) + xi * (w[i * outputs + o] as number);
  }
  return y;
}

/** GELU, tanh approximation ("gelu_new"): `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`, Hendrycks and Gimpel 2016. */
function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

/**
 * Next-token logits of a GPT-2 model (Radford et al. 2019) for one sequence,
 * computed plainly in float64 from a {@link WeightMap}: an independent
 * reference for the tfjs model and the ONNX export, written for clarity, not
 * speed.
 *
 * `h_0 = wte[x_t] + wpe[p_t]`; per layer
 * `h += c_proj(attn(ln_1(h)))` with causal softmax attention
 * `softmax(q k^T / sqrt(d))` per head, then `h += c_proj(gelu(c_fc(ln_2(h))))`;
 * `logits = ln_f(h) wte^T` (tied embeddings).
 *
 * @returns `[T, V]` row-major logits.
 * @example
 * ```ts
 * const logits = referenceGpt2Logits({ config, weights, tokenIds: [5, 6, 7] }); // length 3 * vocabSize
 * ```
 */
export function referenceGpt2Logits(options: ReferenceGpt2Options): Float32Array {
  const rows = referenceGpt2LogitRows(options);
  const vocab = rows[0]?.length ?? 0;
  const logits = new Float32Array(rows.length * vocab);
  rows.forEach((row, t) => {
    logits.set(row, t * vocab);
  });
  return logits;
}

/**
 * {@link referenceGpt2Logits} kept in float64: one row of `V` logits per
 * token. Weights may be given as `Float64Array`s (read as they are), so a
 * finite difference of a weight is not rounded to float32.
 *
 * @example
 * ```ts
 * const rows = referenceGpt2LogitRows({ config, weights, tokenIds: [5, 6, 7] }); // 3 rows of vocabSize
 * ```
 */
export function referenceGpt2LogitRows(options: ReferenceGpt2Options): Float64Array[] {
  const config: Gpt2Config = parseGpt2Config(options.config);
  const { weights, tokenIds } = options;
  checkGpt2Weights(config, weights, 'weights');
  const width = config.embeddingSize;
  const heads = config.headCount;
  const headSize = width / heads;
  const length = tokenIds.length;
  const positionIds = options.positionIds ?? tokenIds.map((_, t) => t);
  if (positionIds.length !== length) {
    throw new InvalidArgumentError({
      argument: 'positionIds',
      value: positionIds,
      message: `must have ${length} entries like tokenIds`,
    });
  }
  tokenIds.forEach((id, t) => {
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new InvalidArgumentError({
        argument: `tokenIds[${t}]`,
        value: id,
        message: `must be an integer in [0, ${config.vocabSize})`,
      });
    }
    const position = positionIds[t] as number;
    if (!Number.isInteger(position) || position < 0 || position >= config.contextLength) {
      throw new InvalidArgumentError({
        argument: `positionIds[${t}]`,
        value: position,
        message: `must be an integer in [0, ${config.contextLength})`,
      });
    }
  });

  const tokenEmbedding = weight(weights, 'transformer.wte.weight');
  const positionEmbedding = weight(weights, 'transformer.wpe.weight');
  let hidden: Float64Array[] = tokenIds.map((id, t) => {
    const row = new Float64Array(width);
    const position = positionIds[t] as number;
    for (let e = 0; e < width; e++)
      row[e] =
        (tokenEmbedding[id * width + e] as number) +
        (positionEmbedding[position * width + e] as number);
    return row;
  });

  for (let layer = 0; layer < config.layerCount; layer++) {
    const p = (name: string) => weight(weights, `transformer.h.${layer}.${name}`);
    const [ln1Gain, ln1Bias, attnW, attnB, projW, projB] = [
      p('ln_1.weight'),
      p('ln_1.bias'),
      p('attn.c_attn.weight'),
      p('attn.c_attn.bias'),
      p('attn.c_proj.weight'),
      p('attn.c_proj.bias'),
    ];
    const qkv = hidden.map((h) =>
      conv1d(layerNorm(h, ln1Gain, ln1Bias, config.layerNormEpsilon), attnW, attnB),
    );
    const attended = hidden.map(() => new Float64Array(width));
    for (let head = 0; head < heads; head++) {
      const base = head * headSize;
      for (let t = 0; t < length; t++) {
        const query = qkv[t] as Float64Array;
        const scores: number[] = [];
        for (let s = 0; s <= t; s++) {
          const key = qkv[s] as Float64Array;
          let dot = 0;
          for (let d = 0; d < headSize; d++)
            dot += (query[base + d] as number) * (key[width + base + d] as number);
          scores.push(dot / Math.sqrt(headSize));
        }
        const maximum = Math.max(...scores);
        const exps = scores.map((score) => Math.exp(score - maximum));
        const total = exps.reduce((a, b) => a + b, 0);
        const out = attended[t] as Float64Array;
        for (let s = 0; s <= t; s++) {
          const probability = (exps[s] as number) / total;
          const value = qkv[s] as Float64Array;
          for (let d = 0; d < headSize; d++)
            out[base + d] =
              (out[base + d] as number) + probability * (value[2 * width + base + d] as number);
        }
      }
    }
    hidden = hidden.map((h, t) => {
      const projected = conv1d(attended[t] as Float64Array, projW, projB);
      return h.map((value, e) => value + (projected[e] as number));
    });

    const [ln2Gain, ln2Bias, fcW, fcB, fcProjW, fcProjB] = [
      p('ln_2.weight'),
      p('ln_2.bias'),
      p('mlp.c_fc.weight'),
      p('mlp.c_fc.bias'),
      p('mlp.c_proj.weight'),
      p('mlp.c_proj.bias'),
    ];
    hidden = hidden.map((h) => {
      const inner = conv1d(layerNorm(h, ln2Gain, ln2Bias, config.layerNormEpsilon), fcW, fcB).map(
        gelu,
      );
      const projected = conv1d(inner, fcProjW, fcProjB);
      return h.map((value, e) => value + (projected[e] as number));
    });
  }

  const finalGain = weight(weights, 'transformer.ln_f.weight');
  const finalBias = weight(weights, 'transformer.ln_f.bias');
  const vocab = config.vocabSize;
  return hidden.map((h) => {
    const normed = layerNorm(h, finalGain, finalBias, config.layerNormEpsilon);
    const row = new Float64Array(vocab);
    for (let v = 0; v < vocab; v++) {
      let dot = 0;
      for (let e = 0; e < width; e++)
        dot += (normed[e] as number) * (tokenEmbedding[v * width + e] as number);
      row[v] = dot;
    }
    return row;
  });
}

/** Options of {@link randomGpt2Weights}. */
export interface RandomGpt2WeightsOptions {
  config: Gpt2ConfigInput;
  seed: number;
  /** Standard deviation of matrices and embeddings. Default 0.2 (larger than GPT-2's 0.02, so tiny test models have varied logits). */
  scale?: number;
}

/**
 * Random GPT-2 weights for tests: every matrix, embedding and bias drawn from
 * `N(0, scale^2)` and layer-norm gains from `N(1, scale^2)`, by a seeded
 * {@link Random} in name order.
 *
 * @example
 * ```ts
 * const weights = randomGpt2Weights({ config, seed: 1 });
 * ```
 */
export function randomGpt2Weights(options: RandomGpt2WeightsOptions): WeightMap {
  const config = parseGpt2Config(options.config);
  const scale = options.scale ?? 0.2;
  const random = new Random(options.seed);
  const weights: WeightMap = {};
  for (const [name, shape] of Object.entries(gpt2WeightShapes(config)).sort(([a], [b]) =>
    a < b ? -1 : 1,
  )) {
    const size = shape.reduce((a, b) => a * b, 1);
    const mean = /ln_\w+\.weight$/.test(name) ? 1 : 0;
    const data = new Float32Array(size);
    for (let index = 0; index < size; index++) data[index] = random.normal(mean, scale);
    weights[name] = { shape, data };
  }
  return weights;
}
