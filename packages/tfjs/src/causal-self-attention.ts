import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';

/** Result of {@link fusedSelfAttention}; the caller owns every tensor. */
export interface FusedSelfAttentionResult {
  /** `[B, T, E]`: the heads' outputs merged back (head `h` in columns `h d .. h d + d - 1`). */
  output: tf.Tensor3D;
  /** `[B, H, T, d]` keys, for a key-value cache (not differentiable through this op). */
  key: tf.Tensor4D;
  /** `[B, H, T, d]` values, for a key-value cache (not differentiable through this op). */
  value: tf.Tensor4D;
}

/** Per-group matrices, `G = B H` groups of `[rows, columns]`, packed one after another. */
interface HeadLayout {
  query: Float32Array;
  key: Float32Array;
  keyTransposed: Float32Array;
  value: Float32Array;
}

/**
 * Copies `qkv [B, T, 3E]` (query, key and value side by side, the GPT-2 `c_attn`
 * layout) into per-head blocks: query, key and value `[G, T, d]` and the keys
 * transposed `[G, d, T]`. Reading the layout in JavaScript replaces the split,
 * the head transposes and the key transpose that would otherwise be kernels.
 */
function splitHeads(
  qkv: Float32Array,
  batchSize: number,
  length: number,
  headCount: number,
  headSize: number,
): HeadLayout {
  const width = headCount * headSize;
  const size = batchSize * headCount * length * headSize;
  const layout: HeadLayout = {
    query: new Float32Array(size),
    key: new Float32Array(size),
    keyTransposed: new Float32Array(size),
    value: new Float32Array(size),
  };
  for (let b = 0; b < batchSize; b++) {
    for (let t = 0; t < length; t++) {
      const row = (b * length + t) * 3 * width;
      for (let h = 0; h < headCount; h++) {
        const group = b * headCount + h;
        const block = group * length * headSize;
        const column = h * headSize;
        for (let i = 0; i < headSize; i++) {
          const key = qkv[row + width + column + i] as number;
          layout.query[block + t * headSize + i] = qkv[row + column + i] as number;
          layout.key[block + t * headSize + i] = key;
          layout.keyTransposed[block + i * length + t] = key;
          layout.value[block + t * headSize + i] = qkv[row + 2 * width + column + i] as number;
        }
      }
    }
  }
  return layout;
}

/** `[rows, columns]` block `group` of a packed array, transposed to `[columns, rows]`. */
function transposedBlock(
  packed: Float32Array,
  group: number,
  rows: number,
  columns: number,
): Float32Array {
  const result = new Float32Array(rows * columns);
  const offset = group * rows * columns;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++)
      result[c * rows + r] = packed[offset + r * columns + c] as number;
  }
  return result;
}

function block(packed: Float32Array, group: number, rows: number, columns: number): tf.Tensor2D {
  const size = rows * columns;
  return tf.tensor2d(packed.subarray(group * size, (group + 1) * size), [rows, columns]);
}

/** `a b` for plain JavaScript operands, reading the product back; frees both uploads. */
function product(a: tf.Tensor2D, b: tf.Tensor2D): Float32Array {
  const result = tf.matMul(a, b);
  const values = result.dataSync() as Float32Array;
  tf.dispose([a, b, result]);
  return values;
}

/**
 * Causal multi-head self-attention straight from the fused `qkv` projection:
 *
 * `O_g = softmax(Q_g K_g^T / sqrt(d) + bias_b) V_g` for every batch item `b`
 * and head `h` (group `g = b H + h`; Vaswani et al. 2017, eq. 1), with `Q`,
 * `K`, `V` the three thirds of `qkv [B, T, 3E]` and `bias [B, 1, T, T]` the
 * additive mask (see {@link causalAttentionBias}). Returns the heads merged as
 * `[B, T, E]`, the input layout of the output projection.
 *
 * Why one op: on the tfjs WASM backend only plain 2D products run at full
 * speed, so every product here is a plain 2D `matMul` per group, and every
 * change of layout (splitting `qkv` into heads, transposing keys, merging the
 * heads back, and the same for the gradient) is a copy in JavaScript instead
 * of a `Split`/`Transpose`/`Pack` kernel. The softmax runs once over all
 * groups. Gradient (hand-written): `dV = P^T dO`, `dP = dO V^T`,
 * `dS = P * (dP - rowsum(dP * P)) / sqrt(d)`, `dQ = dS K`, `dK = dS^T Q`,
 * written back into the `qkv` layout.
 *
 * @example
 * ```ts
 * const qkv = tf.randomNormal([1, 3, 12]) as tf.Tensor3D; // E = 4, two heads of 2
 * const bias = causalAttentionBias({ batchSize: 1, queryLength: 3, pastLength: 0 });
 * const { output, key, value } = fusedSelfAttention(qkv, bias, 2); // [1, 3, 4], [1, 2, 3, 2] x2
 * ```
 */
export function fusedSelfAttention(
  qkv: tf.Tensor3D,
  bias: tf.Tensor4D,
  headCount: number,
): FusedSelfAttentionResult {
  if (qkv.rank !== 3 || qkv.shape[2] % 3 !== 0) {
    throw new InvalidArgumentError({
      argument: 'qkv.shape',
      value: qkv.shape,
      message: 'must be [B, T, 3E]',
    });
  }
  const [batchSize, length, fused] = qkv.shape;
  const width = fused / 3;
  if (!Number.isInteger(headCount) || headCount < 1 || width % headCount !== 0) {
    throw new InvalidArgumentError({
      argument: 'headCount',
      value: headCount,
      message: `must be a positive integer that divides E = ${width}`,
    });
  }
  const expectedBias = [batchSize, 1, length, length];
  if (bias.rank !== 4 || bias.shape.some((size, axis) => size !== expectedBias[axis])) {
    throw new InvalidArgumentError({
      argument: 'bias.shape',
      value: bias.shape,
      message: `must be [${expectedBias.join(', ')}]`,
    });
  }
  const headSize = width / headCount;
  const groups = batchSize * headCount;
  const scale = 1 / Math.sqrt(headSize);
  const blockSize = length * headSize;
  let layout: HeadLayout | undefined;
  const attend = customGradient((input: tf.Tensor3D, save: tf.GradSaveFunc) => {
    const heads = splitHeads(
      input.dataSync() as Float32Array,
      batchSize,
      length,
      headCount,
      headSize,
    );
    layout = heads;
    const scores = new Float32Array(groups * length * length);
    for (let group = 0; group < groups; group++) {
      scores.set(
        product(
          block(heads.query, group, length, headSize),
          block(heads.keyTransposed, group, headSize, length),
        ),
        group * length * length,
      );
    }
    const probabilities = tf.tidy(() =>
      tf.softmax(tf.tensor4d(scores, [batchSize, headCount, length, length]).mul(scale).add(bias)),
    ) as tf.Tensor4D;
    const probabilityValues = probabilities.dataSync() as Float32Array;
    const merged = new Float32Array(batchSize * length * width);
    for (let group = 0; group < groups; group++) {
      const out = product(
        block(probabilityValues, group, length, length),
        block(heads.value, group, length, headSize),
      );
      const b = Math.floor(group / headCount);
      const column = (group % headCount) * headSize;
      for (let t = 0; t < length; t++) {
        merged.set(
          out.subarray(t * headSize, (t + 1) * headSize),
          (b * length + t) * width + column,
        );
      }
    }
    save([probabilities]);
    return {
      value: tf.tensor3d(merged, [batchSize, length, width]),
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [savedP] = saved as [tf.Tensor4D];
        const p = savedP.dataSync() as Float32Array;
        const dOutput = dy.dataSync() as Float32Array;
        const dOutputBlocks = new Float32Array(groups * blockSize);
        for (let group = 0; group < groups; group++) {
          const b = Math.floor(group / headCount);
          const column = (group % headCount) * headSize;
          for (let t = 0; t < length; t++) {
            const from = (b * length + t) * width + column;
            dOutputBlocks.set(
              dOutput.subarray(from, from + headSize),
              group * blockSize + t * headSize,
            );
          }
        }
        const dProbabilities = new Float32Array(groups * length * length);
        const dQkv = new Float32Array(batchSize * length * fused);
        const write = (values: Float32Array, group: number, part: number) => {
          const b = Math.floor(group / headCount);
          const column = part * width + (group % headCount) * headSize;
          for (let t = 0; t < length; t++) {
            dQkv.set(
              values.subarray(t * headSize, (t + 1) * headSize),
              (b * length + t) * fused + column,
            );
          }
        };
        for (let group = 0; group < groups; group++) {
          const pTransposed = transposedBlock(p, group, length, length);
          write(
            product(
              tf.tensor2d(pTransposed, [length, length]),
              block(dOutputBlocks, group, length, headSize),
            ),
            group,
            2,
          );
          dProbabilities.set(
            product(
              block(dOutputBlocks, group, length, headSize),
              tf.tensor2d(transposedBlock(heads.value, group, length, headSize), [
                headSize,
                length,
              ]),
            ),
            group * length * length,
          );
        }
        const dScores = tf.tidy(() => {
          const dP = tf.tensor4d(dProbabilities, savedP.shape);
          return savedP.mul(dP.sub(dP.mul(savedP).sum(-1, true))).mul(scale);
        });
        const dScoreValues = dScores.dataSync() as Float32Array;
        dScores.dispose();
        for (let group = 0; group < groups; group++) {
          write(
            product(
              block(dScoreValues, group, length, length),
              block(heads.key, group, length, headSize),
            ),
            group,
            0,
          );
          write(
            product(
              tf.tensor2d(transposedBlock(dScoreValues, group, length, length), [length, length]),
              block(heads.query, group, length, headSize),
            ),
            group,
            1,
          );
        }
        return tf.tensor3d(dQkv, [batchSize, length, fused]);
      },
    };
  });
  const output = attend(qkv);
  const heads = layout as unknown as HeadLayout;
  const cacheShape: [number, number, number, number] = [batchSize, headCount, length, headSize];
  return {
    output,
    key: tf.tensor4d(heads.key, cacheShape),
    value: tf.tensor4d(heads.value, cacheShape),
  };
}
