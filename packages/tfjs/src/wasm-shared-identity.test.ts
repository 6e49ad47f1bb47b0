import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from './backend';
import { reshapeView } from './reshape-view';

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

describe('shareIdentityBuffersOnWasm', () => {
  it('clones share one buffer that lives until its last tensor is disposed', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const buffersBefore = tf.memory().numDataBuffers;
    const copy = tf.clone(x);
    // On WASM the clone shares the buffer (as on cpu); tfjs-node keeps its own behaviour.
    if (tf.getBackend() !== 'tensorflow') expect(tf.memory().numDataBuffers).toBe(buffersBefore);
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    copy.dispose();
  });

  it('a variable assigned after a clone leaves the clone unchanged', () => {
    const variable = tf.variable(tf.tensor1d([1, 2]));
    const copy = tf.clone(variable);
    variable.assign(tf.tensor1d([5, 6]));
    expect(Array.from(copy.dataSync())).toEqual([1, 2]);
    expect(Array.from(variable.dataSync())).toEqual([5, 6]);
    tf.dispose([variable, copy]);
  });

  it('saved tensors still serve the backward pass (a product and a reshape view)', () => {
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const w = tf.tensor2d([0.5, -1, 2, 0, 1, 3], [3, 2]);
    const [da, dw] = tf.grads((left: tf.Tensor, right: tf.Tensor) =>
      reshapeView(tf.matMul(left as tf.Tensor2D, right as tf.Tensor2D), [4])
        .mul(tf.tensor1d([1, 2, 3, 4]))
        .sum(),
    )([a, w]);
    // d/dA sum(G * (A W)) = G W^T and d/dW = A^T G for G = [[1, 2], [3, 4]].
    expect(Array.from(da!.dataSync())).toEqual([-1.5, 2, 7, -2.5, 6, 15]);
    expect(Array.from(dw!.dataSync())).toEqual([13, 18, 17, 24, 21, 30]);
    tf.dispose([a, w, da!, dw!]);
  });
});
