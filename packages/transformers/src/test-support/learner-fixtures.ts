import { Random } from '@cohort/core';
import type { Gpt2ConfigInput, LlamaConfigInput } from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { logSoftmax } from '../logits-math';

/**
 * Two layers, an MLP width other than 4E, a layer-norm epsilon other than the
 * default (so it shows), context 32 for sequences up to 23 (positions matter).
 * `randomGpt2Weights` draws every bias from N(0, 0.2^2) and every gain from N(1, 0.2^2).
 */
export const learnerGptConfig: Gpt2ConfigInput = {
  vocabSize: 37,
  contextLength: 32,
  embeddingSize: 16,
  layerCount: 2,
  headCount: 4,
  innerSize: 24,
  layerNormEpsilon: 1e-3,
  eosTokenId: 2,
};

/** Untied head, every bias, Llama 3 RoPE scaling, grouped-query attention (4 heads, 2 key/value heads). */
export const untiedLlamaConfig: LlamaConfigInput = {
  vocabSize: 37,
  hiddenSize: 16,
  intermediateSize: 24,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 2,
  contextLength: 64,
  rmsNormEpsilon: 1e-5,
  ropeTheta: 500,
  ropeScaling: {
    type: 'llama3',
    factor: 4,
    lowFrequencyFactor: 1,
    highFrequencyFactor: 4,
    originalContextLength: 16,
  },
  tieWordEmbeddings: false,
  queryKeyValueBias: true,
  outputBias: true,
  mlpBias: true,
  eosTokenId: 3,
};

/** Random token ids, one sequence per length, from a seeded {@link Random}. */
export function randomSequences(
  vocabSize: number,
  lengths: readonly number[],
  seed: number,
): number[][] {
  const random = new Random(seed);
  return lengths.map((length) =>
    Array.from({ length }, () => Math.floor(random.uniform(0, vocabSize))),
  );
}

/** Upstream gradients `[B][T]` (T the longest sequence) drawn from U(-1, 1), so every position matters differently. */
export function randomUpstream(sequences: readonly number[][], seed: number): number[][] {
  const random = new Random(seed);
  const length = Math.max(...sequences.map((sequence) => sequence.length));
  return sequences.map(() => Array.from({ length }, () => random.uniform(-1, 1)));
}

/**
 * Every ONNX gradient within `tolerance` of tfjs's, relative to the largest
 * entry of tfjs's (which must not vanish). `tapeGradients` is keyed by the
 * variables' tfjs names, `onnxGradients` by their model names.
 */
export async function expectGradientsMatch(
  variables: Record<string, tf.Variable>,
  tapeGradients: tf.NamedTensorMap,
  onnxGradients: tf.NamedTensorMap,
  tolerance: number,
): Promise<void> {
  for (const [name, variable] of Object.entries(variables))
    await expectGradientClose(name, tapeGradients[variable.name]!, onnxGradients[name]!, tolerance);
}

/** `actual` within `tolerance` of `expected`, relative to `expected`'s largest entry (which must not vanish). */
export async function expectGradientClose(
  name: string,
  expected: tf.Tensor,
  actual: tf.Tensor,
  tolerance: number,
): Promise<void> {
  const x = (await expected.data()) as Float32Array;
  const y = (await actual.data()) as Float32Array;
  const scale = Math.max(...x.map(Math.abs));
  expect(scale, name).toBeGreaterThan(1e-6);
  let largest = 0;
  for (let index = 0; index < x.length; index++)
    largest = Math.max(largest, Math.abs(x[index]! - y[index]!));
  expect(largest / scale, name).toBeLessThan(tolerance);
}

/** `(f(x + h) - f(x - h)) / 2h` for entry `index` of `data`, which `objective` reads; the entry is restored. */
export function centralDifference(
  data: Float64Array,
  index: number,
  step: number,
  objective: () => number,
): number {
  const original = data[index]!;
  data[index] = original + step;
  const plus = objective();
  data[index] = original - step;
  const minus = objective();
  data[index] = original;
  return (plus - minus) / (2 * step);
}

/**
 * `sum_{b,t} dLogp[b][t] logp[b][t] + dEntropy[b][t] entropy[b][t]` at a
 * temperature, in float64 from `logitRows(sequence)` (row `t` predicts token
 * `t + 1`, from an independent reference forward pass).
 */
export function upstreamObjective(
  logitRows: (sequence: readonly number[]) => ArrayLike<number>[],
  sequences: readonly number[][],
  dLogp: readonly number[][],
  extra: { dEntropy?: readonly number[][]; temperature?: number } = {},
): number {
  let total = 0;
  sequences.forEach((sequence, b) => {
    const rows = logitRows(sequence);
    for (let t = 1; t < sequence.length; t++) {
      const row = rows[t - 1]!;
      const logProbabilities = logSoftmax(row, 0, row.length, extra.temperature ?? 1);
      total += dLogp[b]![t]! * logProbabilities[sequence[t]!]!;
      if (extra.dEntropy) {
        let entropy = 0;
        for (const value of logProbabilities) entropy -= Math.exp(value) * value;
        total += extra.dEntropy[b]![t]! * entropy;
      }
    }
  });
  return total;
}
