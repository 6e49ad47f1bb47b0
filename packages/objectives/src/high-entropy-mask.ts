import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';

/** Options of {@link highEntropyMask}. */
export interface HighEntropyMaskOptions {
  /** `[B, L]` per-token entropy of the current policy. */
  entropy: tf.Tensor;
  /** `[B, L]`, 1 on the tokens that count. */
  mask: tf.Tensor;
  /** The fraction of masked tokens to keep, those of highest entropy, in (0, 1]. */
  topQuantile: number;
}

/**
 * Quantile with linear interpolation between order statistics, as
 * `torch.quantile` (its default `interpolation='linear'`).
 */
export function linearQuantile(values: readonly number[], quantile: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  const position = quantile * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (position - lower) * (sorted[upper]! - sorted[lower]!);
}

/**
 * The 0/1 mask of the masked tokens whose entropy is at least the
 * `(1 - topQuantile)` quantile of the masked tokens' entropies (TRL's
 * `get_high_entropy_mask` for `top_entropy_quantile`; Wang et al. 2025,
 * "Beyond the 80/20 Rule: High-Entropy Minority Tokens Drive Effective RL",
 * train on the top 20%). The quantile interpolates linearly, as
 * `torch.quantile`; ties at the threshold are kept. No masked token gives an
 * all-zero mask. Not differentiable (read back once).
 *
 * @example
 * ```ts
 * highEntropyMask({ entropy, mask, topQuantile: 0.2 }); // 1 on the top 20% of tokens by entropy
 * ```
 */
export function highEntropyMask(options: HighEntropyMaskOptions): tf.Tensor {
  const { entropy, mask, topQuantile } = options;
  if (!(typeof topQuantile === 'number' && topQuantile > 0 && topQuantile <= 1)) {
    throw new InvalidArgumentError({
      argument: 'topQuantile',
      value: topQuantile,
      message: 'must be a number in (0, 1]',
    });
  }
  if (!(entropy instanceof tf.Tensor) || !(mask instanceof tf.Tensor)) {
    throw new InvalidArgumentError({
      argument: entropy instanceof tf.Tensor ? 'mask' : 'entropy',
      value: entropy instanceof tf.Tensor ? mask : entropy,
      message: 'must be a tf.Tensor',
    });
  }
  if (
    entropy.shape.length !== mask.shape.length ||
    !entropy.shape.every((size, axis) => size === mask.shape[axis])
  ) {
    throw new InvalidArgumentError({
      argument: 'mask',
      value: `[${mask.shape.join(', ')}]`,
      message: `must have the shape of entropy, [${entropy.shape.join(', ')}]`,
    });
  }
  const entropies = entropy.dataSync();
  const flags = mask.dataSync();
  const kept: number[] = [];
  flags.forEach((flag, index) => {
    if (flag > 0) kept.push(entropies[index]!);
  });
  if (kept.length === 0) return tf.zeros(entropy.shape);
  const threshold = linearQuantile(kept, 1 - topQuantile);
  const selected = Array.from(flags, (flag, index) =>
    flag > 0 && entropies[index]! >= threshold ? 1 : 0,
  );
  return tf.tensor(selected, entropy.shape, 'float32');
}
