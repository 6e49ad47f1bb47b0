import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initializeBackend } from './backend';
import { selectedLogProbs } from './selected-log-probs';

const rows = 4;
const vocabSize = 6;
const targets = Int32Array.of(2, 0, 5, 2);
const logProbWeights = [0.7, -1.3, 0.4, 2];
const entropyWeights = [-0.5, 0.9, 1.6, -0.2];

/** Independent float64 `sum_r a_r log p_r[target_r] + b_r H_r`. */
function referenceObjective(logits: Float64Array): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = Array.from(logits.subarray(r * vocabSize, (r + 1) * vocabSize));
    const top = Math.max(...row);
    const logTotal = Math.log(row.reduce((sum, z) => sum + Math.exp(z - top), 0)) + top;
    const logP = row.map((z) => z - logTotal);
    const entropy = -logP.reduce((sum, l) => sum + Math.exp(l) * l, 0);
    total +=
      (logProbWeights[r] as number) * (logP[targets[r] as number] as number) +
      (entropyWeights[r] as number) * entropy;
  }
  return total;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`selectedLogProbs on ${backend}`, () => {
    it('initializes', async () => {
      expect((await initializeBackend({ backend, logger: false })).backend).toBe(backend);
    });

    it('matches float64 log-probs and entropies, and its gradient matches float64 finite differences', () => {
      // Row 3 has huge logits: the stable form must not overflow.
      const values = Float32Array.from(
        tf.randomNormal([rows, vocabSize], 0, 2, 'float32', 5).dataSync(),
      );
      for (let v = 0; v < vocabSize; v++) values[3 * vocabSize + v] = 80 + v * 3;
      const logits = tf.tensor2d(values, [rows, vocabSize]);
      const logits64 = Float64Array.from(values);
      const { logProbs, entropy } = selectedLogProbs(logits, targets, { withEntropy: true });
      const objective = (a: tf.Tensor1D, b: tf.Tensor1D) =>
        a
          .mul(tf.tensor1d(logProbWeights as number[]))
          .sum()
          .add(b.mul(tf.tensor1d(entropyWeights as number[])).sum());
      expect(
        Math.abs(
          (objective(logProbs, entropy as tf.Tensor1D).dataSync()[0] as number) -
            referenceObjective(logits64),
        ),
      ).toBeLessThan(1e-4);
      // Row 3's log-probabilities, by hand: z_v - z_max - log(sum_v exp(z_v - z_max)).
      const row3 = Array.from({ length: vocabSize }, (_, v) => 3 * (v - 5));
      const logTotal = Math.log(row3.reduce((sum, z) => sum + Math.exp(z), 0));
      expect(logProbs.dataSync()[3]).toBeCloseTo(-9 - logTotal, 5);
      const gradient = tf
        .grad((z: tf.Tensor) => {
          const result = selectedLogProbs(z as tf.Tensor2D, targets, { withEntropy: true });
          return objective(result.logProbs, result.entropy as tf.Tensor1D);
        })(logits)
        .dataSync();
      const step = 1e-6;
      for (let index = 0; index < logits64.length; index++) {
        const saved = logits64[index] as number;
        logits64[index] = saved + step;
        const up = referenceObjective(logits64);
        logits64[index] = saved - step;
        const down = referenceObjective(logits64);
        logits64[index] = saved;
        const finiteDifference = (up - down) / (2 * step);
        expect(Math.abs((gradient[index] as number) - finiteDifference)).toBeLessThan(
          1e-4 * (1 + Math.abs(finiteDifference)),
        );
      }
      const plain = tf
        .grad((z: tf.Tensor) => selectedLogProbs(z as tf.Tensor2D, targets).logProbs.sum())(logits)
        .dataSync();
      // Without entropy: dz = 1[target] - softmax(z).
      const softmax = tf.softmax(logits).dataSync();
      for (let index = 0; index < plain.length; index++) {
        const isTarget = targets[Math.floor(index / vocabSize)] === index % vocabSize ? 1 : 0;
        expect(plain[index]).toBeCloseTo(isTarget - (softmax[index] as number), 6);
      }
    });

    it('names the bad argument', () => {
      const logits = tf.zeros([2, 3]) as tf.Tensor2D;
      expect(() => selectedLogProbs(logits, Int32Array.of(0))).toThrow(/targets\.length/);
      expect(() => selectedLogProbs(logits, Int32Array.of(0, 3))).toThrow(InvalidArgumentError);
      expect(() =>
        selectedLogProbs(tf.zeros([3]) as unknown as tf.Tensor2D, Int32Array.of(0)),
      ).toThrow(/logits\.shape/);
    });
  });
}
