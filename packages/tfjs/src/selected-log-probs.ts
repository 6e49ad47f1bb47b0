import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';

/** Result of {@link selectedLogProbs}; the caller owns every tensor. */
export interface SelectedLogProbsResult {
  /** `[N]`: `log softmax(z_r)[target_r]`. */
  logProbs: tf.Tensor1D;
  /** `[N]`: `-sum_v p_v log p_v` of `softmax(z_r)`, when asked for. */
  entropy?: tf.Tensor1D;
}

/**
 * Log-probability of one target per row of `logits [N, V]`, and optionally the
 * entropy of each row's distribution, as one op:
 *
 * `logProbs[r] = l_r[target_r]` with `l_r = log_softmax(z_r)` (the stable
 * form, maximum subtracted) and `entropy[r] = -sum_v p_v l_v`, `p = exp(l_r)`.
 *
 * Gradient (hand-written): with upstream `g` for the log-prob and `e` for the
 * entropy, `dz_v = g (1[v = target] - p_v) - e p_v (l_v + H)`, since
 * `dH/dz_v = -p_v (l_v + H)`. Why one op: tfjs's autodiff of `logSoftmax`,
 * a one-hot selection and the entropy keeps about a dozen `[N, V]` tensors
 * alive until the backward pass and runs the exponential twice; this op keeps
 * only `l` (and `p` when the entropy is asked for) and selects the targets by
 * index in JavaScript.
 *
 * @example
 * ```ts
 * const { logProbs } = selectedLogProbs(tf.tensor2d([[0, Math.log(3)]]), Int32Array.of(1)); // [log 0.75]
 * ```
 */
export function selectedLogProbs(
  logits: tf.Tensor2D,
  targets: Int32Array,
  options: { withEntropy?: boolean } = {},
): SelectedLogProbsResult {
  if (logits.rank !== 2) {
    throw new InvalidArgumentError({
      argument: 'logits.shape',
      value: logits.shape,
      message: 'must be [N, V]',
    });
  }
  const [rows, vocabSize] = logits.shape;
  if (targets.length !== rows) {
    throw new InvalidArgumentError({
      argument: 'targets.length',
      value: targets.length,
      message: `must equal the number of logit rows ${rows}`,
    });
  }
  for (let r = 0; r < rows; r++) {
    const target = targets[r] as number;
    if (target < 0 || target >= vocabSize) {
      throw new InvalidArgumentError({
        argument: `targets[${r}]`,
        value: target,
        message: `must be in [0, ${vocabSize})`,
      });
    }
  }
  const withEntropy = options.withEntropy === true;
  const op = customGradient((z: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const logDistribution = tf.logSoftmax(z) as tf.Tensor2D;
    const values = logDistribution.dataSync() as Float32Array;
    const selected = new Float32Array(2 * rows);
    for (let r = 0; r < rows; r++) {
      selected[r] = values[r * vocabSize + (targets[r] as number)] as number;
    }
    if (!withEntropy) {
      save([logDistribution]);
    } else {
      const [probabilities, entropy] = tf.tidy(() => {
        const p = logDistribution.exp();
        return [p, p.mul(logDistribution).sum(-1).neg()];
      }) as [tf.Tensor2D, tf.Tensor1D];
      selected.set(entropy.dataSync(), rows);
      save([logDistribution, probabilities, entropy]);
    }
    return {
      value: tf.tensor2d(selected, [2, rows]),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const upstream = dy.dataSync() as Float32Array;
        const logProbGradient = tf.tensor2d(upstream.subarray(0, rows), [rows, 1]);
        const dz = tf.tidy(() => {
          const [l, p, entropy] = saved as [tf.Tensor2D, tf.Tensor2D?, tf.Tensor1D?];
          if (p === undefined || entropy === undefined) return l.exp().mul(logProbGradient.neg());
          const entropyGradient = tf.tensor2d(upstream.subarray(rows), [rows, 1]);
          // -g p - e p (l + H) = p * (-(g + e H) - e l)
          const rowTerm = logProbGradient
            .add(entropyGradient.mul(entropy.reshape([rows, 1])))
            .neg();
          return p.mul(l.mul(entropyGradient.neg()).add(rowTerm));
        });
        logProbGradient.dispose();
        const gradient = dz.dataSync() as Float32Array;
        dz.dispose();
        // dz is freed, so its values (a copy on WASM, the buffer itself on cpu) can take the one-hot term.
        for (let r = 0; r < rows; r++) {
          const index = r * vocabSize + (targets[r] as number);
          gradient[index] = (gradient[index] as number) + (upstream[r] as number);
        }
        return tf.tensor2d(gradient, [rows, vocabSize]);
      },
    };
  });
  const both = op(logits);
  const [logProbs, entropy] = tf.unstack(both) as [tf.Tensor1D, tf.Tensor1D];
  both.dispose();
  if (withEntropy) return { logProbs, entropy };
  entropy.dispose();
  return { logProbs };
}
