import { Random } from '@cohort/core';
import { expectArraysClose, expectGradientMatchesFiniteDifference } from '@cohort/core/test';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from '../backend';
import { loraLinear } from './lora-linear';
import { residualAdd } from './residual-add';
import { applyRotary } from './rotary-embedding';
import { swiGlu } from './swi-glu';

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

const random = new Random(5);
const draw = (count: number, scale = 0.5) =>
  Array.from({ length: count }, () => random.normal(0, scale));

/** `sum(y * weights)` for fixed random weights: a scalar whose gradient reaches every output. */
function weightedSum(values: readonly number[], weights: readonly number[]): number {
  return values.reduce((sum, value, index) => sum + value * (weights[index] as number), 0);
}

describe('loraLinear', () => {
  const [rows, inSize, rank, outSize, scale] = [3, 4, 2, 5, 1.5];
  const x = draw(rows * inSize);
  const weight = draw(inSize * outSize);
  const bias = draw(outSize);
  const a = draw(inSize * rank);
  const b = draw(rank * outSize);
  const outputWeights = draw(rows * outSize, 1);

  /** Float64 `x W + b + s (x A) B`, written out index by index. */
  function reference(
    xs: readonly number[],
    as: readonly number[],
    bs: readonly number[],
  ): number[] {
    const y: number[] = [];
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outSize; o++) {
        let value = bias[o] as number;
        for (let i = 0; i < inSize; i++)
          value += (xs[r * inSize + i] as number) * (weight[i * outSize + o] as number);
        for (let k = 0; k < rank; k++) {
          let down = 0;
          for (let i = 0; i < inSize; i++)
            down += (xs[r * inSize + i] as number) * (as[i * rank + k] as number);
          value += scale * down * (bs[k * outSize + o] as number);
        }
        y.push(value);
      }
    }
    return y;
  }

  it('matches a float64 implementation, with gradients to x, A and B only (finite differences)', () => {
    const weightTensor = tf.tensor2d(weight, [inSize, outSize]);
    const biasTensor = tf.tensor1d(bias);
    const run = (xt: tf.Tensor, at: tf.Tensor, bt: tf.Tensor) =>
      loraLinear(xt.reshape([1, rows, inSize]), {
        weight: weightTensor,
        bias: biasTensor,
        loraA: at as tf.Tensor2D,
        loraB: bt as tf.Tensor2D,
        scale,
      });
    const xt = tf.tensor2d(x, [rows, inSize]);
    const at = tf.tensor2d(a, [inSize, rank]);
    const bt = tf.tensor2d(b, [rank, outSize]);
    const y = run(xt, at, bt);
    expect(y.shape).toEqual([1, rows, outSize]);
    expectArraysClose(Array.from(y.dataSync()), reference(x, a, b), 1e-5);
    const [dx, da, db] = tf.grads((xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor) =>
      run(xi, ai, bi)
        .mul(tf.tensor(outputWeights, [1, rows, outSize]))
        .sum(),
    )([xt, at, bt]);
    const objective = (xs: readonly number[], as: readonly number[], bs: readonly number[]) =>
      weightedSum(reference(xs, as, bs), outputWeights);
    expectGradientMatchesFiniteDifference({
      fn: (p) => objective(p, a, b),
      point: x,
      gradient: Array.from(dx!.dataSync()),
    });
    expectGradientMatchesFiniteDifference({
      fn: (p) => objective(x, p, b),
      point: a,
      gradient: Array.from(da!.dataSync()),
    });
    expectGradientMatchesFiniteDifference({
      fn: (p) => objective(x, a, p),
      point: b,
      gradient: Array.from(db!.dataSync()),
    });
    // The frozen weight and bias get no gradient: asking for one fails.
    expect(() =>
      tf.grad((w: tf.Tensor) =>
        loraLinear(xt, {
          weight: w as tf.Tensor2D,
          loraA: at as tf.Tensor2D,
          loraB: bt as tf.Tensor2D,
          scale,
        }).sum(),
      )(weightTensor),
    ).toThrow();
    tf.dispose([weightTensor, biasTensor, xt, at, bt, y, dx!, da!, db!]);
  });

  it('names the argument whose shape does not fit', () => {
    const xt = tf.ones([2, inSize]);
    const weightTensor = tf.ones([inSize, outSize]) as tf.Tensor2D;
    const good = {
      weight: weightTensor,
      loraA: tf.ones([inSize, rank]) as tf.Tensor2D,
      loraB: tf.ones([rank, outSize]) as tf.Tensor2D,
      scale,
    };
    expect(() =>
      loraLinear(xt, { ...good, weight: tf.ones([inSize + 1, outSize]) as tf.Tensor2D }),
    ).toThrow(/weight\.shape/);
    expect(() => loraLinear(xt, { ...good, bias: tf.ones([outSize + 1]) as tf.Tensor1D })).toThrow(
      /bias\.shape/,
    );
    expect(() =>
      loraLinear(xt, { ...good, loraA: tf.ones([inSize - 1, rank]) as tf.Tensor2D }),
    ).toThrow(/loraA\.shape/);
    expect(() =>
      loraLinear(xt, { ...good, loraB: tf.ones([rank + 1, outSize]) as tf.Tensor2D }),
    ).toThrow(/loraB\.shape/);
    expect(() => loraLinear(xt, { ...good, scale: Number.NaN })).toThrow(/scale/);
  });
});

describe('swiGlu', () => {
  it('is g sigmoid(g) u, with gradients matching finite differences, huge and tiny gates included', () => {
    const gate = [-40, -3, -0.5, 0, 1e-6, 0.7, 2, 40];
    const up = draw(gate.length, 1);
    const silu = (g: number) => g / (1 + Math.exp(-g));
    const reference = (gs: readonly number[], us: readonly number[]) =>
      gs.map((g, i) => silu(g) * (us[i] as number));
    const gt = tf.tensor1d(gate);
    const ut = tf.tensor1d(up);
    expectArraysClose(Array.from(swiGlu(gt, ut).dataSync()), reference(gate, up), 1e-6);
    const weights = draw(gate.length, 1);
    const [dg, du] = tf.grads((g: tf.Tensor, u: tf.Tensor) =>
      swiGlu(g, u).mul(tf.tensor1d(weights)).sum(),
    )([gt, ut]);
    expectGradientMatchesFiniteDifference({
      fn: (p) => weightedSum(reference(p, up), weights),
      point: gate,
      gradient: Array.from(dg!.dataSync()),
    });
    expectGradientMatchesFiniteDifference({
      fn: (p) => weightedSum(reference(gate, p), weights),
      point: up,
      gradient: Array.from(du!.dataSync()),
    });
    expect(() => swiGlu(gt, tf.ones([3]))).toThrow(/up\.shape/);
  });
});

describe('applyRotary', () => {
  it('has the transposed rotation as its gradient (finite differences)', () => {
    const shape = [1, 2, 3, 4] as const;
    const size = 24;
    const x = draw(size);
    const angles = Array.from({ length: 3 * 2 }, () => random.uniform(-3, 3));
    // Tables in the Hugging Face layout: [1, 1, T, d], the two halves repeating the angles.
    const table = (f: (angle: number) => number) =>
      Array.from({ length: 3 * 4 }, (_, index) =>
        f(angles[Math.floor(index / 4) * 2 + (index % 2)] as number),
      );
    const cos = table(Math.cos);
    const sin = table(Math.sin);
    const reference = (xs: readonly number[]) =>
      xs.map((value, index) => {
        const d = index % 4;
        const t = Math.floor(index / 4) % 3;
        const partner = d < 2 ? -(xs[index + 2] as number) : (xs[index - 2] as number);
        return value * (cos[t * 4 + d] as number) + partner * (sin[t * 4 + d] as number);
      });
    const cosTensor = tf.tensor4d(cos, [1, 1, 3, 4]);
    const sinTensor = tf.tensor4d(sin, [1, 1, 3, 4]);
    const xt = tf.tensor4d(x, [...shape]);
    expectArraysClose(
      Array.from(applyRotary(xt, cosTensor, sinTensor).dataSync()),
      reference(x),
      1e-6,
    );
    const weights = draw(size, 1);
    const dx = tf.grad((xi: tf.Tensor) =>
      applyRotary(xi as tf.Tensor4D, cosTensor, sinTensor)
        .mul(tf.tensor(weights, [...shape]))
        .sum(),
    )(xt);
    expectGradientMatchesFiniteDifference({
      fn: (p) => weightedSum(reference(p), weights),
      point: x,
      gradient: Array.from(dx.dataSync()),
    });
  });
});

describe('residualAdd', () => {
  it('adds tensors of one shape, passes the gradient to both, and names a shape that differs', () => {
    const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const b = tf.tensor2d([10, 20, 30, 40], [2, 2]);
    expect(Array.from(residualAdd(a, b).dataSync())).toEqual([11, 22, 33, 44]);
    // The same input twice: the two gradients add up (the tape disposes one while adding).
    const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      residualAdd(residualAdd(x, y), x)
        .mul(tf.tensor2d([1, 2, 3, 4], [2, 2]))
        .sum(),
    )([a, b]);
    expect(Array.from(da!.dataSync())).toEqual([2, 4, 6, 8]);
    expect(Array.from(db!.dataSync())).toEqual([1, 2, 3, 4]);
    expect(() => residualAdd(a, tf.ones([4]))).toThrow(/b\.shape/);
  });
});
