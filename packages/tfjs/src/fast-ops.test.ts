import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initializeBackend } from './backend';
import { embeddingLookup } from './embedding-lookup';
import { gelu } from './gelu';
import { layerNorm } from './layer-norm';
import { linear } from './linear';
import { matMul2d } from './mat-mul-2d';
import { causalAttentionBias, scaledDotProductAttention } from './scaled-dot-product-attention';

function seeded(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

function expectClose(actual: tf.Tensor, expected: tf.Tensor, tolerance = 1e-4): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  for (let index = 0; index < a.length; index++) {
    expect(Math.abs((a[index] as number) - (e[index] as number))).toBeLessThanOrEqual(
      tolerance * (1 + Math.abs(e[index] as number)),
    );
  }
}

/** Gradients of `sum(f(inputs) * weights)` with a fixed random projection, so every output element matters. */
function gradientsOf(
  f: (...inputs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  seed: number,
): tf.Tensor[] {
  return tf.tidy(() => {
    const probe = f(...inputs);
    const weights = seeded(probe.shape, seed);
    probe.dispose();
    return tf.grads((...xs: tf.Tensor[]) =>
      f(...xs)
        .mul(weights)
        .sum(),
    )(inputs);
  });
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`fast ops on ${backend}`, () => {
    it('initializes', async () => {
      const choice = await initializeBackend({ backend, logger: false });
      expect(choice.backend).toBe(backend);
    });

    it('matMul2d equals tf.matMul in value and gradient', () => {
      const a = seeded([5, 7], 1);
      const b = seeded([7, 3], 2);
      expectClose(matMul2d(a as tf.Tensor2D, b as tf.Tensor2D), tf.matMul(a, b));
      const fast = gradientsOf((x, y) => matMul2d(x as tf.Tensor2D, y as tf.Tensor2D), [a, b], 3);
      const plain = gradientsOf((x, y) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), [a, b], 3);
      expectClose(fast[0] as tf.Tensor, plain[0] as tf.Tensor);
      expectClose(fast[1] as tf.Tensor, plain[1] as tf.Tensor);
      expect(() => matMul2d(a as tf.Tensor2D, a as tf.Tensor2D)).toThrow(InvalidArgumentError);
    });

    it('linear equals matMul plus bias over leading axes, with gradients', () => {
      const x = seeded([2, 3, 4], 4);
      const w = seeded([4, 6], 5);
      const b = seeded([6], 6);
      const plainLinear = (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
        tf
          .matMul(xs.reshape([6, 4]), ws)
          .add(bs)
          .reshape([2, 3, 6]);
      expectClose(linear(x, w as tf.Tensor2D, b as tf.Tensor1D), plainLinear(x, w, b));
      const fast = gradientsOf(
        (xs, ws, bs) => linear(xs as tf.Tensor, ws as tf.Tensor2D, bs as tf.Tensor1D),
        [x, w, b],
        7,
      );
      const plain = gradientsOf(
        (xs, ws, bs) => plainLinear(xs as tf.Tensor, ws as tf.Tensor, bs as tf.Tensor),
        [x, w, b],
        7,
      );
      fast.forEach((gradient, index) => {
        expectClose(gradient, plain[index] as tf.Tensor);
      });
      expect(() => linear(x, seeded([5, 6], 1) as tf.Tensor2D)).toThrow(/weight.shape/);
    });

    it('embeddingLookup gathers rows and scatter-adds gradients of repeated ids', () => {
      const table = seeded([5, 3], 8);
      const ids = tf.tensor2d(
        [
          [1, 4, 1],
          [0, 1, 1],
        ],
        [2, 3],
        'int32',
      );
      const plainLookup = (t: tf.Tensor) =>
        tf.matMul(tf.oneHot(ids.reshape([-1]), 5).toFloat(), t).reshape([2, 3, 3]);
      expectClose(embeddingLookup(table as tf.Tensor2D, ids), plainLookup(table));
      const [fast] = gradientsOf((t) => embeddingLookup(t as tf.Tensor2D, ids), [table], 9);
      const [plain] = gradientsOf((t) => plainLookup(t as tf.Tensor), [table], 9);
      expectClose(fast as tf.Tensor, plain as tf.Tensor);
      // Row 2 and 3 are never looked up: zero gradient.
      expect(Array.from((fast as tf.Tensor).slice([2, 0], [2, 3]).dataSync())).toEqual([
        0, 0, 0, 0, 0, 0,
      ]);
      expect(() => embeddingLookup(table as tf.Tensor2D, ids.toFloat())).toThrow(/ids.dtype/);
    });

    it('gelu matches the tanh formula and its gradient matches finite differences', () => {
      const values = [-30, -3, -1, -0.1, 0, 0.1, 1, 3, 30];
      const x = tf.tensor1d(values);
      const reference = values.map(
        (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
      );
      expectClose(gelu(x), tf.tensor1d(reference), 1e-5);
      const gradient = tf
        .grad((input: tf.Tensor) => gelu(input).sum())(x)
        .dataSync();
      const step = 1e-3;
      values.forEach((v, index) => {
        const f = (u: number) =>
          0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3)));
        const numeric = (f(v + step) - f(v - step)) / (2 * step);
        expect(Math.abs((gradient[index] as number) - numeric)).toBeLessThan(1e-3);
      });
    });

    it('layerNorm equals the composed formula in value and gradient', () => {
      const x = seeded([3, 4, 8], 10).mul(3).add(5);
      const g = seeded([8], 11);
      const b = seeded([8], 12);
      const plainNorm = (xs: tf.Tensor, gs: tf.Tensor, bs: tf.Tensor) => {
        const { mean, variance } = tf.moments(xs, -1, true);
        return xs.sub(mean).div(variance.add(1e-5).sqrt()).mul(gs).add(bs);
      };
      expectClose(layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5), plainNorm(x, g, b));
      const fast = gradientsOf(
        (xs, gs, bs) => layerNorm(xs as tf.Tensor, gs as tf.Tensor1D, bs as tf.Tensor1D, 1e-5),
        [x, g, b],
        13,
      );
      const plain = gradientsOf(
        (xs, gs, bs) => plainNorm(xs as tf.Tensor, gs as tf.Tensor, bs as tf.Tensor),
        [x, g, b],
        13,
      );
      fast.forEach((gradient, index) => {
        expectClose(gradient, plain[index] as tf.Tensor, 1e-3);
      });
    });

    it('attention equals softmax(QK^T/sqrt(d) + bias)V, with past keys and padding, in value and gradient', () => {
      const q = seeded([2, 3, 4, 5], 14) as tf.Tensor4D;
      const k = seeded([2, 3, 6, 5], 15) as tf.Tensor4D;
      const v = seeded([2, 3, 6, 5], 16) as tf.Tensor4D;
      const bias = causalAttentionBias({
        batchSize: 2,
        queryLength: 4,
        pastLength: 2,
        attentionMask: [
          [1, 1, 1, 1, 1, 1],
          [0, 1, 1, 1, 1, 1],
        ],
      });
      const plainAttention = (qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor) =>
        tf.matMul(tf.softmax(tf.matMul(qs, ks, false, true).div(Math.sqrt(5)).add(bias)), vs);
      for (const strategy of ['loop', 'batched'] as const) {
        expectClose(scaledDotProductAttention(q, k, v, bias, strategy), plainAttention(q, k, v));
        const fast = gradientsOf(
          (qs, ks, vs) =>
            scaledDotProductAttention(
              qs as tf.Tensor4D,
              ks as tf.Tensor4D,
              vs as tf.Tensor4D,
              bias,
              strategy,
            ),
          [q, k, v],
          17,
        );
        const plain = gradientsOf(
          (qs, ks, vs) => plainAttention(qs as tf.Tensor, ks as tf.Tensor, vs as tf.Tensor),
          [q, k, v],
          17,
        );
        fast.forEach((gradient, index) => {
          expectClose(gradient, plain[index] as tf.Tensor, 1e-3);
        });
      }
      // Key 0 of sequence 1 is padding: nothing flows into it.
      const [, dK] = gradientsOf(
        (qs, ks, vs) =>
          scaledDotProductAttention(qs as tf.Tensor4D, ks as tf.Tensor4D, vs as tf.Tensor4D, bias),
        [q, k, v],
        18,
      );
      expect(
        Math.max(
          ...Array.from((dK as tf.Tensor).slice([1, 0, 0, 0], [1, 3, 1, 5]).abs().dataSync()),
        ),
      ).toBeLessThan(1e-6);
    });

    it('attention gradient matches finite differences', () => {
      const q = seeded([1, 2, 3, 4], 19) as tf.Tensor4D;
      const k = seeded([1, 2, 3, 4], 20) as tf.Tensor4D;
      const v = seeded([1, 2, 3, 4], 21) as tf.Tensor4D;
      const bias = causalAttentionBias({ batchSize: 1, queryLength: 3, pastLength: 0 });
      const weights = seeded([1, 2, 3, 4], 22);
      const loss = (qs: tf.Tensor) =>
        scaledDotProductAttention(qs as tf.Tensor4D, k, v, bias)
          .mul(weights)
          .sum();
      const analytic = tf.grad(loss)(q).dataSync();
      const base = q.dataSync();
      const step = 1e-2;
      for (const index of [0, 5, 13, 23]) {
        const plus = Float32Array.from(base);
        const minus = Float32Array.from(base);
        plus[index] = (plus[index] as number) + step;
        minus[index] = (minus[index] as number) - step;
        const numeric =
          ((loss(tf.tensor(plus, q.shape)).dataSync()[0] as number) -
            (loss(tf.tensor(minus, q.shape)).dataSync()[0] as number)) /
          (2 * step);
        expect(Math.abs((analytic[index] as number) - numeric)).toBeLessThan(
          2e-2 * (1 + Math.abs(numeric)),
        );
      }
    });

    it('causalAttentionBias masks the future and padding, and validates the mask', () => {
      const bias = causalAttentionBias({
        batchSize: 1,
        queryLength: 2,
        pastLength: 1,
        attentionMask: [[0, 1, 1]],
      });
      expect(Array.from(bias.dataSync())).toEqual([-1e9, 0, -1e9, -1e9, 0, 0]);
      expect(() =>
        causalAttentionBias({
          batchSize: 1,
          queryLength: 2,
          pastLength: 1,
          attentionMask: [[1, 1]],
        }),
      ).toThrow(/attentionMask\[0\]\.length/);
    });
  });
}
