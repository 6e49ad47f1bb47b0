import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from './backend';
import { createGptModel } from './gpt-model';
import { tokenLogProbs } from './token-log-probs';
import type { WeightMap } from './weights';

const config = {
  vocabSize: 11,
  contextLength: 12,
  embeddingSize: 8,
  layerCount: 2,
  headCount: 2,
  eosTokenId: 10,
};

/** Independent plain-JS GPT-2 forward pass from a Hugging Face weight map, in float64. */
function referenceLogits(
  weights: WeightMap,
  ids: number[],
  layers: number,
  heads: number,
): number[][] {
  const get = (name: string) => weights[name] as { shape: number[]; data: Float32Array };
  const width = get('transformer.wte.weight').shape[1] as number;
  const vocab = get('transformer.wte.weight').shape[0] as number;
  const matVec = (x: number[], name: string) => {
    const w = get(`${name}.weight`);
    const b = get(`${name}.bias`);
    const out = w.shape[1] as number;
    return Array.from({ length: out }, (_, j) =>
      x.reduce((sum, xi, i) => sum + xi * (w.data[i * out + j] as number), b.data[j] as number),
    );
  };
  const norm = (x: number[], name: string) => {
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
    return x.map(
      (v, i) =>
        ((v - mean) / Math.sqrt(variance + 1e-5)) * (get(`${name}.weight`).data[i] as number) +
        (get(`${name}.bias`).data[i] as number),
    );
  };
  const geluNew = (v: number) =>
    0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  let hidden = ids.map((id, t) =>
    Array.from(
      { length: width },
      (_, e) =>
        (get('transformer.wte.weight').data[id * width + e] as number) +
        (get('transformer.wpe.weight').data[t * width + e] as number),
    ),
  );
  const headSize = width / heads;
  for (let layer = 0; layer < layers; layer++) {
    const p = `transformer.h.${layer}`;
    const qkv = hidden.map((x) => matVec(norm(x, `${p}.ln_1`), `${p}.attn.c_attn`));
    const attended = hidden.map((_, t) => {
      const out: number[] = [];
      for (let h = 0; h < heads; h++) {
        const q = (qkv[t] as number[]).slice(h * headSize, (h + 1) * headSize);
        const scores = Array.from({ length: t + 1 }, (_, s) => {
          const k = (qkv[s] as number[]).slice(width + h * headSize, width + (h + 1) * headSize);
          return q.reduce((sum, qi, i) => sum + qi * (k[i] as number), 0) / Math.sqrt(headSize);
        });
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const total = exps.reduce((a, b) => a + b, 0);
        for (let i = 0; i < headSize; i++) {
          out.push(
            exps.reduce(
              (sum, e, s) =>
                sum + (e / total) * ((qkv[s] as number[])[2 * width + h * headSize + i] as number),
              0,
            ),
          );
        }
      }
      return out;
    });
    hidden = hidden.map((x, t) => {
      const projected = matVec(attended[t] as number[], `${p}.attn.c_proj`);
      const afterAttention = x.map((v, i) => v + (projected[i] as number));
      const mlp = matVec(
        matVec(norm(afterAttention, `${p}.ln_2`), `${p}.mlp.c_fc`).map(geluNew),
        `${p}.mlp.c_proj`,
      );
      return afterAttention.map((v, i) => v + (mlp[i] as number));
    });
  }
  const table = get('transformer.wte.weight').data;
  return hidden.map((x) => {
    const final = norm(x, 'transformer.ln_f');
    return Array.from({ length: vocab }, (_, v) =>
      final.reduce((sum, f, e) => sum + f * (table[v * width + e] as number), 0),
    );
  });
}

/** Random non-trivial weights (biases and gains too), so every parameter is exercised. */
function randomize(weights: WeightMap, seed: number): WeightMap {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  return Object.fromEntries(
    Object.entries(weights).map(([name, { shape, data }]) => [
      name,
      {
        shape,
        data: Float32Array.from(data, (value) =>
          name.endsWith('ln_1.weight') ||
          name.endsWith('ln_2.weight') ||
          name.endsWith('ln_f.weight')
            ? 1 + next()
            : value * 10 + next() * 0.2,
        ),
      },
    ]),
  );
}

describe('GptModel', () => {
  beforeAll(async () => {
    await initializeBackend({ backend: 'wasm', logger: false });
  });

  it('exposes the Hugging Face GPT-2 names and layouts', () => {
    const model = createGptModel({ config, seed: 1 });
    const weights = model.getWeights();
    expect(weights['transformer.wte.weight']?.shape).toEqual([11, 8]);
    expect(weights['transformer.wpe.weight']?.shape).toEqual([12, 8]);
    expect(weights['transformer.h.1.attn.c_attn.weight']?.shape).toEqual([8, 24]);
    expect(weights['transformer.h.1.attn.c_attn.bias']?.shape).toEqual([24]);
    expect(weights['transformer.h.0.attn.c_proj.weight']?.shape).toEqual([8, 8]);
    expect(weights['transformer.h.0.mlp.c_fc.weight']?.shape).toEqual([8, 32]);
    expect(weights['transformer.h.0.mlp.c_proj.weight']?.shape).toEqual([32, 8]);
    expect(weights['transformer.ln_f.bias']?.shape).toEqual([8]);
    expect(Object.keys(weights)).toHaveLength(2 + 2 * 12 + 2);
    // GPT-2 init: std 0.02 for c_attn, 0.02 / sqrt(2 L) for the residual projections.
    const std = (data: Float32Array) =>
      Math.sqrt(data.reduce((sum, v) => sum + v * v, 0) / data.length);
    expect(
      std(weights['transformer.h.0.attn.c_attn.weight']?.data as Float32Array),
    ).toBeGreaterThan(0.015);
    expect(std(weights['transformer.h.0.attn.c_attn.weight']?.data as Float32Array)).toBeLessThan(
      0.025,
    );
    expect(std(weights['transformer.h.0.mlp.c_proj.weight']?.data as Float32Array)).toBeLessThan(
      0.015,
    );
    expect(
      createGptModel({ config, seed: 1 }).getWeights()['transformer.wte.weight']?.data,
    ).toEqual(weights['transformer.wte.weight']?.data);
    model.dispose();
  });

  it('matches an independent plain-JS forward pass from the weight map', () => {
    const model = createGptModel({ config, seed: 2 });
    const weights = randomize(model.getWeights(), 3);
    model.setWeights(weights);
    const ids = [3, 1, 4, 1, 5, 9, 2];
    const expected = referenceLogits(weights, ids, 2, 2);
    const { logits, presentKeyValues } = model.forward([ids]);
    expect(presentKeyValues[0]?.key.shape).toEqual([1, 2, 7, 4]);
    const actual = logits.arraySync()[0] as number[][];
    expected.forEach((row, t) => {
      row.forEach((value, v) => {
        expect(actual[t]?.[v]).toBeCloseTo(value, 3);
      });
    });
    const plain = createGptModel({ config, seed: 5, ops: 'plain' });
    plain.setWeights(weights);
    const plainLogits = plain.forward([ids]).logits.arraySync()[0] as number[][];
    expected.forEach((row, t) => {
      row.forEach((value, v) => {
        expect(plainLogits[t]?.[v]).toBeCloseTo(value, 3);
      });
    });
    tf.dispose([logits, ...presentKeyValues.flatMap(({ key, value }) => [key, value])]);
    model.dispose();
    plain.dispose();
  });

  it('gives the same gradients with the fast and the plain ops', () => {
    const fast = createGptModel({ config, seed: 6 });
    const plain = createGptModel({ config, seed: 6, ops: 'plain' });
    const sequences = [
      [1, 2, 3, 4, 5],
      [6, 7, 8],
    ];
    const lossOf = (model: typeof fast) => () => {
      const { logProbs, mask } = tokenLogProbs(model, { sequences });
      return logProbs.sum().neg().div(mask.sum()) as tf.Scalar;
    };
    const a = tf.variableGrads(lossOf(fast), fast.trainableVariables());
    const b = tf.variableGrads(lossOf(plain), plain.trainableVariables());
    expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0] as number, 5);
    const plainByName = Object.fromEntries(
      Object.entries(plain.namedVariables()).map(([name, variable]) => [
        name,
        b.grads[variable.name],
      ]),
    );
    for (const [name, variable] of Object.entries(fast.namedVariables())) {
      const x = a.grads[variable.name]?.dataSync() as Float32Array;
      const y = plainByName[name]?.dataSync() as Float32Array;
      const scale = Math.max(1e-6, ...Array.from(y, Math.abs));
      x.forEach((value, index) => {
        expect(Math.abs(value - (y[index] as number))).toBeLessThan(1e-3 * scale);
      });
    }
    tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
    fast.dispose();
    plain.dispose();
  });

  it('continues with a KV cache exactly as a full pass, and left padding does not change a sequence', () => {
    const model = createGptModel({ config, seed: 7 });
    model.setWeights(randomize(model.getWeights(), 8));
    const ids = [5, 6, 7, 8, 9];
    const full = model.forward([ids]);
    const first = model.forward([ids.slice(0, 3)]);
    const rest = model.forward([ids.slice(3)], { pastKeyValues: first.presentKeyValues });
    const expected = full.logits.slice([0, 3, 0], [1, 2, 11]);
    expect(rest.logits.sub(expected).abs().max().dataSync()[0]).toBeLessThan(1e-4);
    const padded = model.forward([[0, 0, ...ids]], {
      attentionMask: [[0, 0, 1, 1, 1, 1, 1]],
      positionIds: [[0, 0, 0, 1, 2, 3, 4]],
    });
    expect(
      padded.logits.slice([0, 2, 0], [1, 5, 11]).sub(full.logits).abs().max().dataSync()[0],
    ).toBeLessThan(1e-4);
    model.dispose();
  });

  it('loads weights without the transformer. prefix, ignores tied lm_head and attention buffers, refuses bad maps', () => {
    const source = createGptModel({ config, seed: 9 });
    const target = createGptModel({ config, seed: 10 });
    const weights = source.getWeights();
    const stripped: WeightMap = Object.fromEntries(
      Object.entries(weights).map(([name, tensor]) => [name.replace(/^transformer\./, ''), tensor]),
    );
    stripped['lm_head.weight'] = weights['transformer.wte.weight'] as WeightMap[string];
    stripped['h.0.attn.bias'] = { shape: [1, 1, 12, 12], data: new Float32Array(144) };
    stripped['h.0.attn.masked_bias'] = { shape: [], data: new Float32Array(1) };
    target.setWeights(stripped);
    expect(target.getWeights()['transformer.h.1.mlp.c_fc.weight']?.data).toEqual(
      weights['transformer.h.1.mlp.c_fc.weight']?.data,
    );
    const missing = { ...weights };
    delete missing['transformer.ln_f.bias'];
    expect(() => target.setWeights(missing)).toThrow(/transformer\.ln_f\.bias.*missing/);
    const misshaped = {
      ...weights,
      'transformer.wte.weight': { shape: [10, 8], data: new Float32Array(80) },
    };
    expect(() => target.setWeights(misshaped)).toThrow(InvalidArgumentError);
    expect(() =>
      target.setWeights({
        ...weights,
        'transformer.h.7.ln_1.weight': { shape: [8], data: new Float32Array(8) },
      }),
    ).toThrow(/h\.7\.ln_1/);
    expect(() => target.forward([[11]])).toThrow(/tokenIds\[0\]\[0\]/);
    expect(() => target.forward([Array.from({ length: 13 }, () => 1)])).toThrow(/contextLength/);
    source.dispose();
    target.dispose();
  });

  it('learns a fixed pattern to near-zero loss', async () => {
    const { createOptimizer } = await import('./optimizer');
    const model = createGptModel({
      config: { vocabSize: 8, contextLength: 16, embeddingSize: 32, layerCount: 2, headCount: 4 },
      seed: 11,
    });
    const optimizer = createOptimizer({
      type: 'adamw',
      learningRate: 1e-2,
      variables: model.namedVariables(),
    });
    const sequences = [
      [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7],
      [7, 6, 5, 4, 3, 2, 1, 0, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const loss = () => {
      const { logProbs, mask } = tokenLogProbs(model, { sequences });
      return logProbs.sum().neg().div(mask.sum()) as tf.Scalar;
    };
    const initial = tf.tidy(() => loss().dataSync()[0] as number);
    // Every token after the first is determined by its predecessor.
    let final = initial;
    for (let step = 0; step < 120; step++) {
      const { value, grads } = tf.variableGrads(loss, model.trainableVariables());
      optimizer.applyGradients(grads);
      final = value.dataSync()[0] as number;
      tf.dispose([value, grads]);
    }
    expect(initial).toBeGreaterThan(Math.log(8) - 0.3);
    expect(final).toBeLessThan(0.1);
    optimizer.dispose();
    model.dispose();
  });
});
