import { Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from '../backend';
import { createOptimizer } from '../optimizer';
import { tokenLogProbs } from '../token-log-probs';
import type { WeightMap } from '../weights';
import { type LlamaConfigInput, parseLlamaConfig } from './llama-config';
import { createLlamaModel, type LlamaModel } from './llama-model';
import { loraTargetModules } from './lora-options';
import { randomLlamaWeights, referenceLlamaLogits } from './reference-llama';

const config: LlamaConfigInput = {
  modelType: 'qwen2',
  vocabSize: 17,
  hiddenSize: 16,
  intermediateSize: 20,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 2,
  contextLength: 32,
  ropeTheta: 1000,
  tieWordEmbeddings: false,
  eosTokenId: 1,
};
const sequence = [3, 7, 1, 12, 5, 9, 14, 2, 8, 11];
const lora = { rank: 3, alpha: 6, targets: [...loraTargetModules] };

/** Log-likelihood of `tokens` (positions 1..T-1) from float64 logits. */
function logLikelihood(logits: number[][], tokens: readonly number[]): number {
  let total = 0;
  for (let t = 1; t < tokens.length; t++) {
    const row = logits[t - 1] as number[];
    const largest = Math.max(...row);
    const logTotal =
      largest + Math.log(row.reduce((sum, value) => sum + Math.exp(value - largest), 0));
    total += (row[tokens[t] as number] as number) - logTotal;
  }
  return total;
}

/** The Hugging Face weights of base plus `(alpha / rank) B^T A^T`, merged in float64 from the adapters. */
function mergedWeights(
  base: WeightMap,
  adapters: Record<string, Float64Array>,
  shapes: Record<string, number[]>,
): WeightMap {
  const merged: WeightMap = { ...base };
  const scale = lora.alpha / lora.rank;
  for (const name of Object.keys(adapters)) {
    if (!name.endsWith('.lora_A.weight')) continue;
    const module = name.slice(0, -'.lora_A.weight'.length);
    const a = adapters[name] as Float64Array;
    const b = adapters[`${module}.lora_B.weight`] as Float64Array;
    const [outSize, inSize] = shapes[`${module}.weight`] as [number, number];
    const original = (base[`${module}.weight`] as { data: Float32Array }).data;
    const data = new Float64Array(outSize * inSize);
    for (let o = 0; o < outSize; o++) {
      for (let i = 0; i < inSize; i++) {
        let update = 0;
        for (let r = 0; r < lora.rank; r++)
          update += (a[i * lora.rank + r] as number) * (b[r * outSize + o] as number);
        data[o * inSize + i] = (original[o * inSize + i] as number) + scale * update;
      }
    }
    // The reference reads float64 values through Float64Array.from, so a float64-backed map keeps precision.
    merged[`${module}.weight`] = {
      shape: [outSize, inSize],
      data: data as unknown as Float32Array,
    };
  }
  return merged;
}

function adaptedModel(seed: number): { model: LlamaModel; base: WeightMap } {
  const base = randomLlamaWeights({ config, seed });
  const model = createLlamaModel({ config, lora, zeroInitialize: true });
  model.setWeights(base);
  return { model, base };
}

describe('LoRA on the Llama family', () => {
  beforeAll(async () => {
    await initializeBackend({ logger: () => {} });
  });

  it('starts exactly at the base, trains only the adapters, and switches them off for the reference', () => {
    const { model, base } = adaptedModel(5);
    const plain = createLlamaModel({ config, zeroInitialize: true });
    plain.setWeights(base);
    const adapted = model.forward([sequence]);
    const off = model.withoutAdapters().forward([sequence]);
    const reference = plain.forward([sequence]);
    expect(Array.from(adapted.logits.dataSync())).toEqual(Array.from(reference.logits.dataSync()));
    expect(Array.from(off.logits.dataSync())).toEqual(Array.from(reference.logits.dataSync()));
    const parsed = parseLlamaConfig(config);
    const names = Object.keys(model.namedVariables());
    expect(names).toHaveLength(2 * 7 * parsed.layerCount);
    expect(names.every((name) => /\.lora_[AB]\.weight$/.test(name))).toBe(true);
    // r (in + out) per adapted projection: q, o 16x16; k, v 16x8; gate, up 16x20; down 20x16.
    const perLayer = lora.rank * (32 + 32 + 24 + 24 + 36 + 36 + 36);
    expect(model.parameterCount().adapters).toBe(parsed.layerCount * perLayer);
    tf.dispose(
      [adapted, off, reference].flatMap((result) => [
        result.logits,
        ...result.presentKeyValues.flatMap(({ key, value }) => [key, value]),
      ]),
    );
    plain.dispose();
    model.dispose();
  });

  it('adapter gradients match finite differences of an independent float64 forward pass', () => {
    const { model, base } = adaptedModel(6);
    const random = new Random(9);
    // B = 0 would make every A gradient vanish; give both factors values.
    for (const variable of model.trainableVariables()) {
      const values = Float32Array.from({ length: variable.size }, () => random.normal(0, 0.2));
      variable.assign(tf.tensor(values, variable.shape));
    }
    const { value, grads } = tf.variableGrads(() => {
      const { logProbs, mask } = tokenLogProbs(model, { sequences: [sequence] });
      mask.dispose();
      return logProbs.sum() as tf.Scalar;
    }, model.trainableVariables());
    const adapters: Record<string, Float64Array> = {};
    for (const [name, variable] of Object.entries(model.namedVariables())) {
      adapters[name] = Float64Array.from(variable.dataSync());
    }
    const shapes = model.baseWeightShapes();
    const objective = (): number =>
      logLikelihood(
        referenceLlamaLogits({
          config,
          weights: mergedWeights(base, adapters, shapes),
          tokenIds: sequence,
        }),
        sequence,
      );
    expect(Math.abs((value.dataSync()[0] as number) - objective())).toBeLessThan(1e-4);
    const variables = model.namedVariables();
    const checked = [
      'model.layers.0.self_attn.q_proj.lora_A.weight',
      'model.layers.0.self_attn.k_proj.lora_B.weight',
      'model.layers.1.self_attn.v_proj.lora_A.weight',
      'model.layers.0.self_attn.o_proj.lora_B.weight',
      'model.layers.1.mlp.gate_proj.lora_A.weight',
      'model.layers.0.mlp.up_proj.lora_B.weight',
      'model.layers.1.mlp.down_proj.lora_A.weight',
    ];
    const step = 1e-5;
    for (const name of checked) {
      const gradient = grads[(variables[name] as tf.Variable).name]?.dataSync() as Float32Array;
      const values = adapters[name] as Float64Array;
      for (const index of [0, Math.floor(values.length / 2), values.length - 1]) {
        const original = values[index] as number;
        values[index] = original + step;
        const up = objective();
        values[index] = original - step;
        const down = objective();
        values[index] = original;
        const numeric = (up - down) / (2 * step);
        expect(Math.abs((gradient[index] as number) - numeric)).toBeLessThan(
          2e-3 + 2e-3 * Math.abs(numeric),
        );
      }
    }
    expect(Object.keys(grads)).toHaveLength(model.trainableVariables().length);
    tf.dispose([value, ...Object.values(grads)]);
    model.dispose();
  });

  it('full fine-tuning gradients (norms, q/k/v biases, embedding, head) match finite differences', () => {
    const qwen3: LlamaConfigInput = { ...config, modelType: 'qwen3', headSize: 6, ropeTheta: 50 };
    const base = randomLlamaWeights({ config: qwen3, seed: 8 });
    const model = createLlamaModel({ config: qwen3, zeroInitialize: true });
    model.setWeights(base);
    const variables = model.namedVariables();
    const { grads } = tf.variableGrads(() => {
      const { logProbs, mask } = tokenLogProbs(model, { sequences: [sequence] });
      mask.dispose();
      return logProbs.sum() as tf.Scalar;
    }, model.trainableVariables());
    const weights: WeightMap = Object.fromEntries(
      Object.entries(base).map(([name, tensor]) => [
        name,
        { shape: tensor.shape, data: Float64Array.from(tensor.data) as unknown as Float32Array },
      ]),
    );
    const objective = (): number =>
      logLikelihood(referenceLlamaLogits({ config: qwen3, weights, tokenIds: sequence }), sequence);
    const step = 1e-5;
    const checked: [string, number][] = [
      ['model.layers.0.input_layernorm.weight', 3],
      ['model.layers.1.self_attn.q_norm.weight', 4],
      ['model.layers.0.self_attn.k_norm.weight', 1],
      ['model.layers.1.post_attention_layernorm.weight', 9],
      ['model.norm.weight', 2],
      ['model.embed_tokens.weight', 7 * 16 + 5],
      ['lm_head.weight', 3 * 16 + 1],
      ['model.layers.0.self_attn.k_proj.weight', 4],
    ];
    for (const [name, index] of checked) {
      const data = (weights[name] as { data: Float32Array }).data as unknown as Float64Array;
      const original = data[index] as number;
      data[index] = original + step;
      const up = objective();
      data[index] = original - step;
      const down = objective();
      data[index] = original;
      const numeric = (up - down) / (2 * step);
      const gradient = grads[(variables[name] as tf.Variable).name] as tf.Tensor;
      // Linear weights are kept [in, out]: the Hugging Face [out, in] element (o, i) sits at i * out + o.
      const [outSize, inSize] = model.baseWeightShapes()[name] as number[];
      const position =
        name.endsWith('_proj.weight') || name === 'lm_head.weight'
          ? (index % (inSize as number)) * (outSize as number) +
            Math.floor(index / (inSize as number))
          : index;
      const analytic = gradient.dataSync()[position] as number;
      expect(Math.abs(analytic - numeric)).toBeLessThan(2e-3 + 2e-3 * Math.abs(numeric));
      expect(Math.abs(numeric)).toBeGreaterThan(1e-4);
    }
    tf.dispose(Object.values(grads));
    model.dispose();
  });

  it('an optimizer step moves the adapters and leaves the base weights unchanged', () => {
    const { model, base } = adaptedModel(7);
    const optimizer = createOptimizer({
      type: 'adam',
      learningRate: 0.05,
      variables: model.namedVariables(),
    });
    const before = model.forward([sequence]);
    const { value, grads } = tf.variableGrads(() => {
      const { logProbs, mask } = tokenLogProbs(model, { sequences: [sequence] });
      mask.dispose();
      return logProbs.sum().neg() as tf.Scalar;
    }, model.trainableVariables());
    optimizer.applyGradients(grads);
    const after = model.forward([sequence]);
    const baseAfter = model.getWeights();
    for (const [name, tensor] of Object.entries(base)) {
      expect(Array.from((baseAfter[name] as { data: Float32Array }).data)).toEqual(
        Array.from(tensor.data),
      );
    }
    expect(Array.from(after.logits.dataSync())).not.toEqual(Array.from(before.logits.dataSync()));
    const { logProbs, mask } = tokenLogProbs(model, { sequences: [sequence] });
    expect(-(logProbs.sum().dataSync()[0] as number)).toBeLessThan(value.dataSync()[0] as number);
    tf.dispose([value, logProbs, mask, ...Object.values(grads), before.logits, after.logits]);
    optimizer.dispose();
    model.dispose();
  });
});
