import { Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { logSoftmax } from '../logits-math';
import type { OnnxLearner, OnnxLearnerWeights } from '../onnx-learner';

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

/**
 * Checks {@link OnnxLearner.learn} against {@link OnnxLearner.gradients}: an
 * upstream that is a nonlinear function of each run's own `logp` and
 * `entropy` (`dLogp = w exp(logp)`, `dEntropy = v entropy`, `w`, `v` random
 * per position) gives, in one forward pass per run, the gradients that
 * `gradients` gives for the same upstream computed from a separate forward
 * pass; each run is handed its own rows, in order.
 */
export async function expectLearnMatchesGradients(options: {
  learner: OnnxLearner;
  weights: OnnxLearnerWeights;
  sequences: number[][];
  temperature: number;
  tolerance: number;
}): Promise<void> {
  const { learner, weights, sequences } = options;
  const batch = { sequences, temperature: options.temperature };
  const length = Math.max(...sequences.map((sequence) => sequence.length));
  const w = randomUpstream(sequences, 51);
  const v = randomUpstream(sequences, 52);
  const runs: { start: number; shape: [number, number] }[] = [];
  const learned = await learner.learn(weights, batch, (run) => {
    runs.push({ start: run.start, shape: run.shape });
    const [rows, runLength] = run.shape;
    const dLogp = new Float32Array(rows * runLength);
    const dEntropy = new Float32Array(rows * runLength);
    for (let b = 0; b < rows; b++)
      for (let t = 0; t < runLength; t++) {
        const index = b * runLength + t;
        dLogp[index] = w[run.start + b]![t]! * Math.exp(run.logProbs[index]!);
        dEntropy[index] = v[run.start + b]![t]! * run.entropy[index]!;
      }
    return { dLogp, dEntropy };
  });
  const perRun = learner.sequencesPerRun;
  expect(runs).toEqual(
    Array.from({ length: Math.ceil(sequences.length / perRun) }, (_, index) => {
      const rows = sequences.slice(index * perRun, (index + 1) * perRun);
      return {
        start: index * perRun,
        shape: [rows.length, Math.max(...rows.map((sequence) => sequence.length))],
      };
    }),
  );
  const forward = await learner.logProbs(weights, batch);
  const at = (values: Float32Array, b: number, t: number) => values[b * length + t]!;
  const dLogp = sequences.map((_, b) =>
    Array.from({ length }, (_, t) => w[b]![t]! * Math.exp(at(forward.logProbs, b, t))),
  );
  const dEntropy = sequences.map((_, b) =>
    Array.from({ length }, (_, t) => v[b]![t]! * at(forward.entropy, b, t)),
  );
  const expected = await learner.gradients(weights, batch, dLogp, dEntropy);
  expect(learned.shape).toEqual(expected.shape);
  for (let index = 0; index < expected.logProbs.length; index++) {
    expect(Math.abs(learned.logProbs[index]! - expected.logProbs[index]!)).toBeLessThan(1e-5);
    expect(Math.abs(learned.entropy[index]! - expected.entropy[index]!)).toBeLessThan(1e-5);
  }
  for (const { name } of learner.trainableWeights)
    await expectGradientClose(
      name,
      expected.gradients[name]!,
      learned.gradients[name]!,
      options.tolerance,
    );
  tf.dispose([...Object.values(expected.gradients), ...Object.values(learned.gradients)]);
}
