import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from './backend';
import { createGptModel, type GptModel } from './gpt-model';
import { tokenLogProbs } from './token-log-probs';

const config = {
  vocabSize: 13,
  contextLength: 16,
  embeddingSize: 8,
  layerCount: 2,
  headCount: 2,
  eosTokenId: 12,
};

/** Log-softmax and entropy of each row in float64, straight from the logits. */
function direct(
  model: GptModel,
  ids: number[],
  temperature: number,
): { logProbs: number[]; entropy: number[] } {
  const { logits, presentKeyValues } = model.forward([ids]);
  const rows = logits.arraySync()[0] as number[][];
  tf.dispose([logits, ...presentKeyValues.flatMap(({ key, value }) => [key, value])]);
  const logProbs = [0];
  const entropy = [0];
  for (let t = 1; t < ids.length; t++) {
    const scaled = (rows[t - 1] as number[]).map((z) => z / temperature);
    const max = Math.max(...scaled);
    const logTotal = max + Math.log(scaled.reduce((sum, z) => sum + Math.exp(z - max), 0));
    logProbs.push((scaled[ids[t] as number] as number) - logTotal);
    entropy.push(-scaled.reduce((sum, z) => sum + Math.exp(z - logTotal) * (z - logTotal), 0));
  }
  return { logProbs, entropy };
}

describe('tokenLogProbs', () => {
  let model: GptModel;
  beforeAll(async () => {
    await initializeBackend({ backend: 'wasm', logger: false });
    model = createGptModel({ config, seed: 1 });
    // Sharpen the distributions so temperature and entropy matter.
    model.setWeights(
      Object.fromEntries(
        Object.entries(model.getWeights()).map(([name, t]) => [
          name,
          { shape: t.shape, data: t.data.map((v) => v * 20) },
        ]),
      ),
    );
  });

  it('matches log-softmax of the logits per token, with padding, temperature and entropy', () => {
    const sequences = [[1, 2, 3, 4, 5, 6], [7, 8, 9], [10]];
    for (const temperature of [1, 0.5, 3]) {
      for (const padding of ['right', 'left'] as const) {
        const result = tokenLogProbs(model, { sequences, temperature, withEntropy: true, padding });
        const logProbs = result.logProbs.arraySync();
        const entropy = result.entropy?.arraySync() as number[][];
        const mask = result.mask.arraySync();
        sequences.forEach((sequence, b) => {
          const expected = direct(model, sequence, temperature);
          const start = padding === 'left' ? 6 - sequence.length : 0;
          for (let column = 0; column < 6; column++) {
            const t = column - start;
            const inside = t >= 1 && t < sequence.length;
            expect(mask[b]?.[column]).toBe(inside ? 1 : 0);
            expect(logProbs[b]?.[column]).toBeCloseTo(
              inside ? (expected.logProbs[t] as number) : 0,
              3,
            );
            expect(entropy[b]?.[column]).toBeCloseTo(
              inside ? (expected.entropy[t] as number) : 0,
              3,
            );
          }
        });
        tf.dispose([result.logProbs, result.mask, result.entropy as tf.Tensor]);
      }
    }
  });

  it('stays finite for extreme logits and rejects bad arguments', () => {
    const hot = createGptModel({ config, seed: 2 });
    hot.setWeights(
      Object.fromEntries(
        Object.entries(hot.getWeights()).map(([name, t]) => [
          name,
          { shape: t.shape, data: t.data.map((v) => v * 1e3) },
        ]),
      ),
    );
    const { logProbs, entropy } = tokenLogProbs(hot, {
      sequences: [[1, 2, 3, 4]],
      withEntropy: true,
      temperature: 0.01,
    });
    expect(Array.from(logProbs.dataSync()).every(Number.isFinite)).toBe(true);
    expect(
      Array.from(entropy?.dataSync() ?? []).every(
        (value) => Number.isFinite(value) && value >= -1e-4,
      ),
    ).toBe(true);
    expect(() => tokenLogProbs(hot, { sequences: [[1, 2]], temperature: 0 })).toThrow(
      /temperature/,
    );
    expect(() => tokenLogProbs(hot, { sequences: [] })).toThrow(/sequences/);
    expect(() => tokenLogProbs(hot, { sequences: [[1], []] })).toThrow(/sequences\[1\]/);
    expect(() => tokenLogProbs(hot, { sequences: [[1, 99]] })).toThrow(/\[0\]\[1\]/);
    hot.dispose();
  });

  it('has a gradient that matches finite differences', () => {
    const variable = model.namedVariables()['transformer.h.1.mlp.c_fc.bias'] as tf.Variable;
    const sequences = [[1, 5, 2, 7]];
    const objective = () =>
      tf.tidy(
        () =>
          tokenLogProbs(model, { sequences, temperature: 2 })
            .logProbs.sum()
            .dataSync()[0] as number,
      );
    const { grads, value } = tf.variableGrads(
      () => tokenLogProbs(model, { sequences, temperature: 2 }).logProbs.sum() as tf.Scalar,
      [variable],
    );
    const analytic = grads[variable.name]?.dataSync() as Float32Array;
    const original = variable.dataSync() as Float32Array;
    const step = 1e-2;
    for (const index of [0, 7, 19]) {
      const nudged = (delta: number) => {
        const copy = Float32Array.from(original);
        copy[index] = (copy[index] as number) + delta;
        variable.assign(tf.tensor(copy, variable.shape));
        return objective();
      };
      const numeric = (nudged(step) - nudged(-step)) / (2 * step);
      variable.assign(tf.tensor(original, variable.shape));
      expect(Math.abs((analytic[index] as number) - numeric)).toBeLessThan(
        3e-2 * (1 + Math.abs(numeric)),
      );
    }
    tf.dispose([value, grads]);
  });
});
