import { Random } from '@cohort/core';
import type * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { logSoftmax } from '../logits-math';

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
