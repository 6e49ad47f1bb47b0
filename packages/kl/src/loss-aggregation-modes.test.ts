import { InvalidArgumentError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { aggregateTokenValues } from './loss-aggregation';
import type { EmptyRows, LossAggregation } from './loss-aggregation-options';

/**
 * The peers' reductions written from their code as float64 loops: verl `agg_loss`
 * (seq-mean-token-sum, seq-mean-token-sum-norm, seq-mean-token-mean with fully
 * masked rows left out) and SkyRL `apply_loss_reduction_to_advantages_minibatch`
 * (prompt_mean, token_mean_legacy, which count every unit).
 */
function peerReduction(
  values: number[][],
  mask: number[][],
  mode: LossAggregation,
  settings: { rowsPerUnit?: number; length?: number; emptyRows?: EmptyRows },
): number {
  const rowSum = (b: number) => values[b]!.reduce((sum, x, t) => sum + x * mask[b]![t]!, 0);
  const rowCount = (b: number) => mask[b]!.reduce((sum, flag) => sum + flag, 0);
  const rows = values.length;
  const length = settings.length ?? values[0]!.length;
  if (mode === 'seq-mean-token-sum-norm') {
    let total = 0;
    for (let b = 0; b < rows; b++) total += rowSum(b);
    return total / length;
  }
  const unitSize =
    mode === 'sequence-mean' || mode === 'seq-mean-token-sum' ? 1 : settings.rowsPerUnit!;
  let numerator = 0;
  let units = 0;
  for (let start = 0; start < rows; start += unitSize) {
    let sum = 0;
    let count = 0;
    for (let b = start; b < start + unitSize; b++) {
      sum += rowSum(b);
      count += rowCount(b);
    }
    if (count === 0 && settings.emptyRows === 'exclude') continue;
    units++;
    numerator += mode === 'seq-mean-token-sum' ? sum : sum / Math.max(count, 1);
  }
  return units === 0 ? 0 : numerator / units;
}

describe('aggregateTokenValues: the modes of verl and SkyRL', () => {
  const random = new Random(21);
  const values = Array.from({ length: 6 }, () =>
    Array.from({ length: 5 }, () => random.normal(0, 2)),
  );
  const mask = [
    [1, 1, 1, 0, 0],
    [0, 0, 0, 0, 0],
    [1, 1, 1, 1, 1],
    [0, 1, 0, 1, 0],
    [0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0],
  ];

  const cases: {
    mode: LossAggregation;
    options: {
      groupSize?: number;
      microBatchSize?: number;
      constantLength?: number;
      emptyRows?: EmptyRows;
    };
    rowsPerUnit?: number;
  }[] = [
    { mode: 'sequence-mean', options: { emptyRows: 'exclude' } },
    { mode: 'sequence-mean', options: { emptyRows: 'count' } },
    { mode: 'seq-mean-token-sum', options: { emptyRows: 'exclude' } },
    { mode: 'seq-mean-token-sum', options: {} },
    { mode: 'seq-mean-token-sum-norm', options: {} },
    { mode: 'seq-mean-token-sum-norm', options: { constantLength: 16 } },
    { mode: 'prompt-mean', options: { groupSize: 2 }, rowsPerUnit: 2 },
    { mode: 'prompt-mean', options: { groupSize: 2, emptyRows: 'exclude' }, rowsPerUnit: 2 },
    { mode: 'micro-batch-token-mean', options: { microBatchSize: 3 }, rowsPerUnit: 3 },
    {
      mode: 'micro-batch-token-mean',
      options: { microBatchSize: 2, emptyRows: 'exclude' },
      rowsPerUnit: 2,
    },
  ];

  it('matches the float64 loops of the peers, value and gradient', () => {
    const valuesTensor = tf.tensor2d(values);
    const maskTensor = tf.tensor2d(mask);
    for (const { mode, options, rowsPerUnit } of cases) {
      const settings = {
        ...(rowsPerUnit === undefined ? {} : { rowsPerUnit }),
        ...(options.constantLength === undefined ? {} : { length: options.constantLength }),
        ...(options.emptyRows === undefined ? {} : { emptyRows: options.emptyRows }),
      };
      const expected = peerReduction(values, mask, mode, settings);
      const before = tf.memory().numTensors;
      const result = aggregateTokenValues({
        values: valuesTensor,
        lossMask: maskTensor,
        mode,
        ...options,
      });
      expect(result.dataSync()[0]!).toBeCloseTo(expected, 5);
      result.dispose();
      expect(tf.memory().numTensors).toBe(before);
      // The reduction is linear: its gradient is the reference evaluated on unit vectors.
      const gradient = tf.tidy(() =>
        tf
          .grad((x: tf.Tensor) =>
            aggregateTokenValues({ values: x, lossMask: maskTensor, mode, ...options }),
          )(valuesTensor)
          .arraySync(),
      ) as number[][];
      for (const [b, t] of [
        [0, 1],
        [2, 4],
        [3, 3],
        [1, 0],
      ] as const) {
        const unit = values.map((row, i) => row.map((_, j) => (i === b && j === t ? 1 : 0)));
        expect(gradient[b]![t]).toBeCloseTo(peerReduction(unit, mask, mode, settings), 6);
      }
    }
    tf.dispose([valuesTensor, maskTensor]);
  });

  it('hand-computed: verl seq-mean-token-sum-norm divides by L only, SkyRL prompt_mean by groups', () => {
    const x = tf.tensor2d([
      [1, 2, 3],
      [5, 0, 0],
      [6, 7, 8],
      [0, 0, 0],
    ]);
    const m = tf.tensor2d([
      [1, 1, 1],
      [1, 0, 0],
      [1, 1, 1],
      [0, 0, 0],
    ]);
    const value = (mode: LossAggregation, options: object = {}) =>
      aggregateTokenValues({ values: x, lossMask: m, mode, ...options }).dataSync()[0]!;
    expect(value('seq-mean-token-sum-norm')).toBeCloseTo(32 / 3, 5);
    // SkyRL's test: prompt 0 token mean (1+2+3+5)/4, prompt 1 (6+7+8)/3, then the mean.
    expect(value('prompt-mean', { groupSize: 2 })).toBeCloseTo((11 / 4 + 7) / 2, 5);
    expect(value('seq-mean-token-sum')).toBeCloseTo(32 / 4, 5);
    expect(value('seq-mean-token-sum', { emptyRows: 'exclude' })).toBeCloseTo(32 / 3, 5);
    expect(value('sequence-mean', { emptyRows: 'exclude' })).toBeCloseTo((2 + 5 + 7) / 3, 5);
    tf.dispose([x, m]);
  });

  it('refuses settings that would do nothing or cannot apply, naming them', () => {
    const x = tf.zeros([4, 2]);
    const m = tf.ones([4, 2]);
    const run = (mode: LossAggregation, options: object) => () =>
      aggregateTokenValues({ values: x, lossMask: m, mode, ...options });
    expect(run('prompt-mean', {})).toThrow(/groupSize/);
    expect(run('prompt-mean', { groupSize: 3 })).toThrow(/divides the batch size 4/);
    expect(run('micro-batch-token-mean', {})).toThrow(/microBatchSize/);
    expect(run('token-mean', { groupSize: 2 })).toThrow(InvalidArgumentError);
    expect(run('token-mean', { emptyRows: 'exclude' })).toThrow(/emptyRows/);
    expect(run('sequence-mean', { emptyRows: 'sometimes' })).toThrow(/emptyRows/);
    expect(run('bogus' as LossAggregation, {})).toThrow(/mode/);
    tf.dispose([x, m]);
  });
});
