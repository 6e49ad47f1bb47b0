import { Random } from '@cohort/core';
import type { WeightMap } from '../weights';
import { type LlamaConfig, type LlamaConfigInput, parseLlamaConfig } from './llama-config';

/** Options of {@link referenceLlamaLogits}. */
export interface ReferenceLlamaOptions {
  config: LlamaConfigInput | LlamaConfig;
  /** Hugging Face names and layouts (linear weights `[out, in]`). */
  weights: WeightMap;
  /** One sequence of token ids, `[T]`. */
  tokenIds: readonly number[];
  /** Position of each token. Default `0, 1, ..., T-1`. */
  positionIds?: readonly number[];
}

function tensor(weights: WeightMap, name: string): Float64Array {
  const found = weights[name];
  if (found === undefined) throw new Error(`reference Llama: weight ${name} is missing`);
  return Float64Array.from(found.data);
}

/** `W x + b` with `W` stored `[out, in]` as `torch.nn.Linear` does. */
function linearLayer(
  x: Float64Array,
  w: Float64Array,
  b: Float64Array | undefined,
  outSize: number,
): Float64Array {
  const inSize = x.length;
  const y = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    let total = b === undefined ? 0 : (b[o] as number);
    for (let i = 0; i < inSize; i++) total += (w[o * inSize + i] as number) * (x[i] as number);
    y[o] = total;
  }
  return y;
}

function rootMeanSquareNorm(x: Float64Array, gain: Float64Array, epsilon: number): Float64Array {
  let meanSquare = 0;
  for (const value of x) meanSquare += value * value;
  meanSquare /= x.length;
  const scale = 1 / Math.sqrt(meanSquare + epsilon);
  return x.map((value, index) => value * scale * (gain[index] as number));
}

/** Angular frequency of rotary pair `i` of `d` (Su et al. 2021), with Llama 3.1's scaling written out again. */
function pairFrequency(config: LlamaConfig, i: number): number {
  const base = 1 / config.ropeTheta ** ((2 * i) / config.headSize);
  const scaling = config.ropeScaling;
  if (scaling === null) return base;
  if (scaling.type === 'linear') return base / scaling.factor;
  const wavelength = (2 * Math.PI) / base;
  const shortest = scaling.originalContextLength / scaling.highFrequencyFactor;
  const longest = scaling.originalContextLength / scaling.lowFrequencyFactor;
  if (wavelength > longest) return base / scaling.factor;
  if (wavelength < shortest) return base;
  const mix =
    (scaling.originalContextLength / wavelength - scaling.lowFrequencyFactor) /
    (scaling.highFrequencyFactor - scaling.lowFrequencyFactor);
  return mix * base + ((1 - mix) * base) / scaling.factor;
}

/** Rotates element pairs `(i, i + d/2)` of one head by `position * frequency_i`, in place. */
function rotate(head: Float64Array, offset: number, position: number, config: LlamaConfig): void {
  const half = config.headSize / 2;
  for (let i = 0; i < half; i++) {
    const angle = position * pairFrequency(config, i);
    const a = head[offset + i] as number;
    const b = head[offset + half + i] as number;
    head[offset + i] = a * Math.cos(angle) - b * Math.sin(angle);
    head[offset + half + i] = b * Math.cos(angle) + a * Math.sin(angle);
  }
}

function normalizeHeads(
  x: Float64Array,
  gain: Float64Array,
  headSize: number,
  epsilon: number,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let start = 0; start < x.length; start += headSize) {
    out.set(rootMeanSquareNorm(x.subarray(start, start + headSize), gain, epsilon), start);
  }
  return out;
}

/**
 * Next-token logits `[T][V]` of a Llama-family model for one sequence,
 * computed plainly in float64 straight from Hugging Face weights, one token at
 * a time: an implementation written apart from the tfjs `LlamaModel` so tests
 * can check one against the other. It follows transformers'
 * `modeling_llama.py`, `modeling_qwen2.py` and `modeling_qwen3.py`: RMSNorm,
 * rotary embeddings on pairs `(i, i + d/2)`, causal grouped-query softmax
 * attention scaled by `1 / sqrt(d)`, SwiGLU `down(silu(gate) * up)`.
 *
 * @example
 * ```ts
 * const logits = referenceLlamaLogits({ config, weights: randomLlamaWeights({ config, seed: 1 }), tokenIds: [1, 2, 3] });
 * ```
 */
export function referenceLlamaLogits(options: ReferenceLlamaOptions): number[][] {
  const config = parseLlamaConfig(options.config);
  const { weights, tokenIds } = options;
  const width = config.hiddenSize;
  const d = config.headSize;
  const groups = config.headCount / config.keyValueHeadCount;
  const embedding = tensor(weights, 'model.embed_tokens.weight');
  const layerWeights = Array.from({ length: config.layerCount }, (_, layer) => {
    const prefix = `model.layers.${layer}`;
    const optional = (name: string): Float64Array | undefined =>
      weights[name] === undefined ? undefined : tensor(weights, name);
    const get = (name: string) => tensor(weights, `${prefix}.${name}`);
    return {
      inputNorm: get('input_layernorm.weight'),
      q: get('self_attn.q_proj.weight'),
      qBias: optional(`${prefix}.self_attn.q_proj.bias`),
      k: get('self_attn.k_proj.weight'),
      kBias: optional(`${prefix}.self_attn.k_proj.bias`),
      v: get('self_attn.v_proj.weight'),
      vBias: optional(`${prefix}.self_attn.v_proj.bias`),
      o: get('self_attn.o_proj.weight'),
      oBias: optional(`${prefix}.self_attn.o_proj.bias`),
      qNorm: optional(`${prefix}.self_attn.q_norm.weight`),
      kNorm: optional(`${prefix}.self_attn.k_norm.weight`),
      postNorm: get('post_attention_layernorm.weight'),
      gate: get('mlp.gate_proj.weight'),
      gateBias: optional(`${prefix}.mlp.gate_proj.bias`),
      up: get('mlp.up_proj.weight'),
      upBias: optional(`${prefix}.mlp.up_proj.bias`),
      down: get('mlp.down_proj.weight'),
      downBias: optional(`${prefix}.mlp.down_proj.bias`),
    };
  });
  const finalNorm = tensor(weights, 'model.norm.weight');
  const head = config.tieWordEmbeddings ? embedding : tensor(weights, 'lm_head.weight');
  const keys: Float64Array[][] = layerWeights.map(() => []);
  const values: Float64Array[][] = layerWeights.map(() => []);
  const logits: number[][] = [];
  tokenIds.forEach((token, t) => {
    const position = options.positionIds?.[t] ?? t;
    let x = embedding.slice(token * width, (token + 1) * width);
    layerWeights.forEach((w, layer) => {
      const h = rootMeanSquareNorm(x, w.inputNorm, config.rmsNormEpsilon);
      let q = linearLayer(h, w.q, w.qBias, config.headCount * d);
      let k = linearLayer(h, w.k, w.kBias, config.keyValueHeadCount * d);
      const v = linearLayer(h, w.v, w.vBias, config.keyValueHeadCount * d);
      if (w.qNorm !== undefined) q = normalizeHeads(q, w.qNorm, d, config.rmsNormEpsilon);
      if (w.kNorm !== undefined) k = normalizeHeads(k, w.kNorm, d, config.rmsNormEpsilon);
      for (let head = 0; head < config.headCount; head++) rotate(q, head * d, position, config);
      for (let head = 0; head < config.keyValueHeadCount; head++)
        rotate(k, head * d, position, config);
      (keys[layer] as Float64Array[]).push(k);
      (values[layer] as Float64Array[]).push(v);
      const attended = new Float64Array(config.headCount * d);
      for (let head = 0; head < config.headCount; head++) {
        const kvHead = Math.floor(head / groups);
        const scores = (keys[layer] as Float64Array[]).map((key) => {
          let dot = 0;
          for (let i = 0; i < d; i++)
            dot += (q[head * d + i] as number) * (key[kvHead * d + i] as number);
          return dot / Math.sqrt(d);
        });
        const largest = Math.max(...scores);
        const exps = scores.map((score) => Math.exp(score - largest));
        const total = exps.reduce((sum, value) => sum + value, 0);
        exps.forEach((weight, j) => {
          const value = (values[layer] as Float64Array[])[j] as Float64Array;
          for (let i = 0; i < d; i++) {
            attended[head * d + i] =
              (attended[head * d + i] as number) +
              (weight / total) * (value[kvHead * d + i] as number);
          }
        });
      }
      const attentionOut = linearLayer(attended, w.o, w.oBias, width);
      x = x.map((value, index) => value + (attentionOut[index] as number));
      const h2 = rootMeanSquareNorm(x, w.postNorm, config.rmsNormEpsilon);
      const gate = linearLayer(h2, w.gate, w.gateBias, config.intermediateSize);
      const up = linearLayer(h2, w.up, w.upBias, config.intermediateSize);
      const hidden = gate.map((g, index) => (g / (1 + Math.exp(-g))) * (up[index] as number));
      const mlpOut = linearLayer(hidden, w.down, w.downBias, width);
      x = x.map((value, index) => value + (mlpOut[index] as number));
    });
    const final = rootMeanSquareNorm(x, finalNorm, config.rmsNormEpsilon);
    logits.push(Array.from(linearLayer(final, head, undefined, config.vocabSize)));
  });
  return logits;
}

/** Options of {@link randomLlamaWeights}. */
export interface RandomLlamaWeightsOptions {
  config: LlamaConfigInput | LlamaConfig;
  seed: number;
  /** Standard deviation of the matrices. Default 0.1 (large enough that every layer matters). */
  scale?: number;
}

/**
 * Random weights of every tensor a Llama-family model of `config` has, under
 * the Hugging Face names and layouts: matrices `N(0, scale)`, biases
 * `N(0, scale)` (never zero), norm weights `U(0.5, 1.5)` (never one), so a
 * test fixture exercises every parameter.
 */
export function randomLlamaWeights(options: RandomLlamaWeightsOptions): WeightMap {
  const config = parseLlamaConfig(options.config);
  const random = new Random(options.seed);
  const scale = options.scale ?? 0.1;
  const weights: WeightMap = {};
  const normal = (name: string, shape: number[]): void => {
    const data = new Float32Array(shape.reduce((product, size) => product * size, 1));
    for (let index = 0; index < data.length; index++) data[index] = random.normal(0, scale);
    weights[name] = { shape, data };
  };
  const norm = (name: string, size: number): void => {
    const data = new Float32Array(size);
    for (let index = 0; index < size; index++) data[index] = random.uniform(0.5, 1.5);
    weights[name] = { shape: [size], data };
  };
  const width = config.hiddenSize;
  const d = config.headSize;
  const qWidth = config.headCount * d;
  const kvWidth = config.keyValueHeadCount * d;
  normal('model.embed_tokens.weight', [config.vocabSize, width]);
  for (let layer = 0; layer < config.layerCount; layer++) {
    const p = `model.layers.${layer}`;
    norm(`${p}.input_layernorm.weight`, width);
    const projection = (name: string, outSize: number, inSize: number, bias: boolean) => {
      normal(`${p}.${name}.weight`, [outSize, inSize]);
      if (bias) normal(`${p}.${name}.bias`, [outSize]);
    };
    projection('self_attn.q_proj', qWidth, width, config.queryKeyValueBias);
    projection('self_attn.k_proj', kvWidth, width, config.queryKeyValueBias);
    projection('self_attn.v_proj', kvWidth, width, config.queryKeyValueBias);
    projection('self_attn.o_proj', width, qWidth, config.outputBias);
    if (config.queryKeyNorm) {
      norm(`${p}.self_attn.q_norm.weight`, d);
      norm(`${p}.self_attn.k_norm.weight`, d);
    }
    norm(`${p}.post_attention_layernorm.weight`, width);
    projection('mlp.gate_proj', config.intermediateSize, width, config.mlpBias);
    projection('mlp.up_proj', config.intermediateSize, width, config.mlpBias);
    projection('mlp.down_proj', width, config.intermediateSize, config.mlpBias);
  }
  norm('model.norm.weight', width);
  if (!config.tieWordEmbeddings) normal('lm_head.weight', [config.vocabSize, width]);
  return weights;
}
