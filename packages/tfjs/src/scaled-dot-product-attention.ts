import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';

/** How the per-head products of {@link scaledDotProductAttention} are computed. */
export type AttentionStrategy = 'loop' | 'batched';

/**
 * Batched product `a[i] b[i]` of `a [n, m, k]` and `b [n, k, p]`. `'loop'` runs one
 * plain 2D `matMul` per item (the fast kernel on WASM); `'batched'` uses tfjs's
 * rank-3 `matMul` (about 2x slower on WASM for attention-sized blocks).
 */
function batchedProduct(a: tf.Tensor3D, b: tf.Tensor3D, strategy: AttentionStrategy): tf.Tensor3D {
  if (strategy === 'batched' || tf.getBackend() === 'tensorflow') return tf.matMul(a, b);
  const count = a.shape[0];
  if (count === 1) {
    return tf.tidy(() =>
      tf
        .matMul(
          a.reshape(a.shape.slice(1)) as tf.Tensor2D,
          b.reshape(b.shape.slice(1)) as tf.Tensor2D,
        )
        .expandDims(0),
    ) as tf.Tensor3D;
  }
  return tf.tidy(() => {
    const left = unstackRows(a);
    const right = unstackRows(b);
    return tf.stack(
      left.map((item, index) => tf.matMul(item, right[index] as tf.Tensor2D)),
    ) as tf.Tensor3D;
  });
}

/**
 * Splits `x [n, r, c]` into `n` matrices. On WASM and cpu, copying out of the
 * backend's memory and back is about 40x faster than tfjs's `Unpack`/`Slice`
 * kernels (measured: 0.7 ms vs 28 ms for 64 blocks of 64 x 64).
 */
function unstackRows(x: tf.Tensor3D): tf.Tensor2D[] {
  const [count, rows, columns] = x.shape;
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return tf.unstack(x) as tf.Tensor2D[];
  const values = x.dataSync() as Float32Array;
  const size = rows * columns;
  return Array.from({ length: count }, (_, index) =>
    tf.tensor2d(values.subarray(index * size, (index + 1) * size), [rows, columns]),
  );
}

function transposeLast(x: tf.Tensor3D): tf.Tensor3D {
  return tf.transpose(x, [0, 2, 1]);
}

/**
 * Multi-head scaled dot-product attention with an additive bias (the mask):
 *
 * `O = softmax(Q K^T / sqrt(d) + bias) V` per batch item and head
 * (Vaswani et al. 2017, eq. 1), for `query [B, H, Tq, d]`, `key` and
 * `value [B, H, Tk, d]` and `bias [B, 1, Tq, Tk]` (0 where a key may be seen,
 * a large negative number where it may not; see {@link causalAttentionBias}).
 *
 * One fused op with a hand-written gradient
 * (`dV = P^T dO`, `dP = dO V^T`, `dS = P * (dP - rowsum(dP * P)) / sqrt(d)`,
 * `dQ = dS K`, `dK = dS^T Q`), whose products are plain 2D `matMul`s with explicit
 * transposes, because tfjs's batched and transposed products are about 10x
 * slower on WASM and its autodiff records dozens of small ops.
 *
 * @example
 * ```ts
 * const q = tf.randomNormal([1, 2, 3, 4]) as tf.Tensor4D;
 * const bias = causalAttentionBias({ batchSize: 1, queryLength: 3, pastLength: 0 });
 * const out = scaledDotProductAttention(q, q, q, bias); // [1, 2, 3, 4]
 * ```
 */
export function scaledDotProductAttention(
  query: tf.Tensor4D,
  key: tf.Tensor4D,
  value: tf.Tensor4D,
  bias: tf.Tensor4D,
  strategy: AttentionStrategy = 'loop',
): tf.Tensor4D {
  const [batchSize, headCount, queryLength, headSize] = query.shape;
  const keyLength = key.shape[2];
  const expectedKey = [batchSize, headCount, keyLength, headSize];
  if (key.rank !== 4 || key.shape.some((size, axis) => size !== expectedKey[axis])) {
    throw new InvalidArgumentError({
      argument: 'key.shape',
      value: key.shape,
      message: `must be [${expectedKey.join(', ')}]`,
    });
  }
  if (value.rank !== 4 || value.shape.some((size, axis) => size !== expectedKey[axis])) {
    throw new InvalidArgumentError({
      argument: 'value.shape',
      value: value.shape,
      message: `must be [${expectedKey.join(', ')}]`,
    });
  }
  const expectedBias = [batchSize, 1, queryLength, keyLength];
  if (bias.rank !== 4 || bias.shape.some((size, axis) => size !== expectedBias[axis])) {
    throw new InvalidArgumentError({
      argument: 'bias.shape',
      value: bias.shape,
      message: `must be [${expectedBias.join(', ')}]`,
    });
  }
  const groups = batchSize * headCount;
  const scale = 1 / Math.sqrt(headSize);
  const attend = customGradient(
    (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, save: tf.GradSaveFunc) => {
      const probabilities = tf.tidy(() => {
        const q3 = q.reshape([groups, queryLength, headSize]) as tf.Tensor3D;
        const k3 = k.reshape([groups, keyLength, headSize]) as tf.Tensor3D;
        const scores = batchedProduct(q3, transposeLast(k3), strategy);
        const scaled = scores
          .reshape([batchSize, headCount, queryLength, keyLength])
          .mul(scale)
          .add(bias);
        return tf.softmax(scaled);
      });
      const output = tf.tidy(() =>
        batchedProduct(
          probabilities.reshape([groups, queryLength, keyLength]) as tf.Tensor3D,
          v.reshape([groups, keyLength, headSize]) as tf.Tensor3D,
          strategy,
        ).reshape([batchSize, headCount, queryLength, headSize]),
      ) as tf.Tensor4D;
      save([q, k, v, probabilities]);
      return {
        value: output,
        gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
          const [savedQ, savedK, savedV, savedP] = saved as [
            tf.Tensor4D,
            tf.Tensor4D,
            tf.Tensor4D,
            tf.Tensor4D,
          ];
          const q3 = savedQ.reshape([groups, queryLength, headSize]) as tf.Tensor3D;
          const k3 = savedK.reshape([groups, keyLength, headSize]) as tf.Tensor3D;
          const v3 = savedV.reshape([groups, keyLength, headSize]) as tf.Tensor3D;
          const p3 = savedP.reshape([groups, queryLength, keyLength]) as tf.Tensor3D;
          const dO = dy.reshape([groups, queryLength, headSize]) as tf.Tensor3D;
          const dV = batchedProduct(transposeLast(p3), dO, strategy);
          const dP = batchedProduct(dO, transposeLast(v3), strategy);
          const dS = p3.mul(dP.sub(dP.mul(p3).sum(-1, true))).mul(scale) as tf.Tensor3D;
          const dQ = batchedProduct(dS, k3, strategy);
          const dK = batchedProduct(transposeLast(dS), q3, strategy);
          return [dQ.reshape(savedQ.shape), dK.reshape(savedK.shape), dV.reshape(savedV.shape)];
        },
      };
    },
  );
  return attend(query, key, value);
}

/** Options of {@link causalAttentionBias}. */
export interface CausalAttentionBiasOptions {
  batchSize: number;
  /** Number of new (query) positions. */
  queryLength: number;
  /** Number of cached positions before them. */
  pastLength: number;
  /**
   * Per sequence, 1 for a real token and 0 for padding, over all
   * `pastLength + queryLength` key positions. Omitted: every key is real.
   */
  attentionMask?: readonly (readonly number[])[];
}

/** The additive value that hides a key; large but finite so fully masked rows stay finite. */
export const maskedScore = -1e9;

/**
 * Additive attention bias `[B, 1, Tq, Tk]` for causal attention over
 * `Tk = pastLength + Tq` keys: 0 where query `i` may see key `j`
 * (`j <= pastLength + i` and key `j` is not padding), {@link maskedScore} elsewhere.
 *
 * @example
 * ```ts
 * causalAttentionBias({ batchSize: 1, queryLength: 2, pastLength: 0 }); // [[[[0, -1e9], [0, 0]]]]
 * ```
 */
export function causalAttentionBias(options: CausalAttentionBiasOptions): tf.Tensor4D {
  const { batchSize, queryLength, pastLength, attentionMask } = options;
  const keyLength = pastLength + queryLength;
  if (attentionMask !== undefined) {
    if (attentionMask.length !== batchSize) {
      throw new InvalidArgumentError({
        argument: 'attentionMask.length',
        value: attentionMask.length,
        message: `must equal the batch size ${batchSize}`,
      });
    }
    attentionMask.forEach((row, index) => {
      if (row.length !== keyLength) {
        throw new InvalidArgumentError({
          argument: `attentionMask[${index}].length`,
          value: row.length,
          message: `must equal pastLength + queryLength = ${keyLength}`,
        });
      }
    });
  }
  const values = new Float32Array(batchSize * queryLength * keyLength);
  for (let b = 0; b < batchSize; b++) {
    const row = attentionMask?.[b];
    for (let i = 0; i < queryLength; i++) {
      const base = (b * queryLength + i) * keyLength;
      for (let j = 0; j < keyLength; j++) {
        const visible = j <= pastLength + i && (row === undefined || row[j] !== 0);
        if (!visible) values[base + j] = maskedScore;
      }
    }
  }
  return tf.tensor4d(values, [batchSize, 1, queryLength, keyLength]);
}
