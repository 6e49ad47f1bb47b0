import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from './backend';
import { createGptModel } from './gpt-model';
import { createMlpModel } from './mlp-model';
import { createOptimizer } from './optimizer';
import { tokenLogProbs } from './token-log-probs';
import { createValueHead } from './value-head';

describe('heads', () => {
  beforeAll(async () => {
    await initializeBackend({ backend: 'wasm', logger: false });
  });

  it('ValueHead computes h w + b per position on the GPT hidden states, and round-trips its weights', () => {
    const model = createGptModel({
      config: { vocabSize: 8, contextLength: 8, embeddingSize: 4, layerCount: 1, headCount: 1 },
      seed: 1,
    });
    const head = createValueHead({ inputSize: 4, initialStd: 0.5, seed: 2 });
    const { hiddenStates, logProbs, mask } = tokenLogProbs(model, {
      sequences: [[1, 2, 3], [4]],
      returnHiddenStates: true,
    });
    const values = head.predict(hiddenStates as tf.Tensor3D);
    expect(values.shape).toEqual([2, 3]);
    const weights = head.getWeights();
    expect(Object.keys(weights)).toEqual(['v_head.weight', 'v_head.bias']);
    const h = (hiddenStates as tf.Tensor3D).arraySync();
    const w = weights['v_head.weight']?.data as Float32Array;
    const expected = h.map((row) =>
      row.map((vector) => vector.reduce((sum, x, i) => sum + x * (w[i] as number), 0)),
    );
    expect(values.arraySync()).toEqual(
      expected.map((row) => row.map((value) => expect.closeTo(value, 5))),
    );
    const copy = createValueHead({ inputSize: 4 });
    copy.setWeights(weights);
    expect(copy.getWeights()).toEqual(weights);
    expect(() =>
      copy.setWeights({
        'v_head.weight': { shape: [5, 1], data: new Float32Array(5) },
        'v_head.bias': weights['v_head.bias'] as never,
      }),
    ).toThrow(/v_head.weight/);
    tf.dispose([hiddenStates as tf.Tensor, logProbs, mask, values]);
    [head, copy, model].forEach((item) => {
      item.dispose();
    });
  });

  it('MlpModel learns XOR far beyond chance and round-trips its weights', () => {
    const mlp = createMlpModel({ layerSizes: [2, 16, 1], activation: 'tanh', seed: 4 });
    const optimizer = createOptimizer({
      type: 'adam',
      learningRate: 0.05,
      variables: mlp.namedVariables(),
    });
    const x = tf.tensor2d([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    const y = tf.tensor2d([[0], [1], [1], [0]]);
    const loss = () => mlp.predict(x).sub(y).square().mean() as tf.Scalar;
    const initial = tf.tidy(() => loss().dataSync()[0] as number);
    for (let step = 0; step < 300; step++) {
      const { value, grads } = tf.variableGrads(loss, mlp.trainableVariables());
      optimizer.applyGradients(grads);
      tf.dispose([value, grads]);
    }
    const final = tf.tidy(() => loss().dataSync()[0] as number);
    // Predicting the mean (0.5) everywhere gives 0.25.
    expect(initial).toBeGreaterThan(0.1);
    expect(final).toBeLessThan(0.01);
    const copy = createMlpModel({ layerSizes: [2, 16, 1], activation: 'tanh', seed: 9 });
    copy.setWeights(mlp.getWeights());
    expect(copy.predict(x).arraySync()).toEqual(mlp.predict(x).arraySync());
    expect(Object.keys(mlp.getWeights())).toEqual([
      'layers.0.weight',
      'layers.0.bias',
      'layers.1.weight',
      'layers.1.bias',
    ]);
    expect(() => mlp.predict(tf.zeros([1, 3]))).toThrow(/input.shape/);
    expect(() => createMlpModel({ layerSizes: [2] })).toThrow(/layerSizes/);
    const zeroHead = createMlpModel({ layerSizes: [2, 4, 3], finalLayerScale: 0 });
    expect(Array.from(zeroHead.predict(x).dataSync()).every((value) => value === 0)).toBe(true);
    optimizer.dispose();
    [mlp, copy, zeroHead].forEach((item) => {
      item.dispose();
    });
  });
});
