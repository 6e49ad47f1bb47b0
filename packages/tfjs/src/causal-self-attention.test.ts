import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initializeBackend } from './backend';
import { fusedSelfAttention } from './causal-self-attention';
import { causalAttentionBias } from './scaled-dot-product-attention';

const batchSize = 2;
const length = 5;
const headCount = 3;
const headSize = 2;
const width = headCount * headSize;
// Sequence 1 is left-padded by two positions, so masked keys are exercised.
const attentionMask = [
  [1, 1, 1, 1, 1],
  [0, 0, 1, 1, 1],
];

/** Independent float64 attention over the `qkv [B, T, 3E]` layout: `sum(out * weights)`. */
function referenceLoss(qkv: Float64Array, bias: Float64Array, weights: Float64Array): number {
  let loss = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let h = 0; h < headCount; h++) {
      for (let i = 0; i < length; i++) {
        const scores: number[] = [];
        for (let j = 0; j < length; j++) {
          let dot = 0;
          for (let c = 0; c < headSize; c++) {
            const q = qkv[(b * length + i) * 3 * width + h * headSize + c] as number;
            const k = qkv[(b * length + j) * 3 * width + width + h * headSize + c] as number;
            dot += q * k;
          }
          const mask = bias[(b * length + i) * length + j] as number;
          // In float32 a masked score is exactly the mask value (-1e9 + x rounds to -1e9).
          scores.push(mask < -1e8 ? mask : dot / Math.sqrt(headSize) + mask);
        }
        const top = Math.max(...scores);
        const exps = scores.map((score) => Math.exp(score - top));
        const total = exps.reduce((sum, value) => sum + value, 0);
        for (let c = 0; c < headSize; c++) {
          let out = 0;
          for (let j = 0; j < length; j++) {
            const v = qkv[(b * length + j) * 3 * width + 2 * width + h * headSize + c] as number;
            out += ((exps[j] as number) / total) * v;
          }
          loss += out * (weights[(b * length + i) * width + h * headSize + c] as number);
        }
      }
    }
  }
  return loss;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`fusedSelfAttention on ${backend}`, () => {
    it('initializes', async () => {
      expect((await initializeBackend({ backend, logger: false })).backend).toBe(backend);
    });

    it('matches an independent float64 attention in value, and its gradient matches float64 finite differences', () => {
      const qkv = tf.randomNormal([batchSize, length, 3 * width], 0, 1.5, 'float32', 11);
      // Padded query rows see no key at all; like the loss mask in training, their outputs get weight 0.
      const rowMask = tf.tensor3d(attentionMask.map((row) => row.map((real) => [real])));
      const weights = tf.randomNormal([batchSize, length, width], 0, 1, 'float32', 12).mul(rowMask);
      const bias = causalAttentionBias({
        batchSize,
        queryLength: length,
        pastLength: 0,
        attentionMask,
      });
      const qkv64 = Float64Array.from(qkv.dataSync());
      const bias64 = Float64Array.from(bias.dataSync());
      const weights64 = Float64Array.from(weights.dataSync());
      const { output, key, value } = fusedSelfAttention(qkv as tf.Tensor3D, bias, headCount);
      expect(output.shape).toEqual([batchSize, length, width]);
      expect(key.shape).toEqual([batchSize, headCount, length, headSize]);
      // The cache holds keys and values in [B, H, T, d]: check one entry of each by hand.
      const qkvValues = qkv.arraySync() as number[][][];
      expect(key.arraySync()[1]?.[2]?.[3]?.[1]).toBe(qkvValues[1]?.[3]?.[width + 2 * headSize + 1]);
      expect(value.arraySync()[0]?.[1]?.[4]?.[0]).toBe(qkvValues[0]?.[4]?.[2 * width + headSize]);
      const loss = output.mul(weights).sum().dataSync()[0] as number;
      expect(Math.abs(loss - referenceLoss(qkv64, bias64, weights64))).toBeLessThan(1e-5);
      const gradient = tf
        .grad((x: tf.Tensor) =>
          fusedSelfAttention(x as tf.Tensor3D, bias, headCount)
            .output.mul(weights)
            .sum(),
        )(qkv)
        .dataSync();
      const step = 1e-6;
      for (let index = 0; index < qkv64.length; index++) {
        const saved = qkv64[index] as number;
        qkv64[index] = saved + step;
        const up = referenceLoss(qkv64, bias64, weights64);
        qkv64[index] = saved - step;
        const down = referenceLoss(qkv64, bias64, weights64);
        qkv64[index] = saved;
        const finiteDifference = (up - down) / (2 * step);
        expect(Math.abs((gradient[index] as number) - finiteDifference)).toBeLessThan(
          1e-4 * (1 + Math.abs(finiteDifference)),
        );
      }
      tf.dispose([qkv, rowMask, weights, bias, output, key, value]);
    });

    it('names the bad argument', () => {
      const bias = causalAttentionBias({ batchSize: 1, queryLength: 2, pastLength: 0 });
      expect(() => fusedSelfAttention(tf.zeros([1, 2, 7]) as tf.Tensor3D, bias, 1)).toThrow(
        /qkv\.shape/,
      );
      expect(() => fusedSelfAttention(tf.zeros([1, 2, 6]) as tf.Tensor3D, bias, 4)).toThrow(
        InvalidArgumentError,
      );
      expect(() => fusedSelfAttention(tf.zeros([1, 3, 6]) as tf.Tensor3D, bias, 1)).toThrow(
        /bias\.shape/,
      );
    });
  });
}
