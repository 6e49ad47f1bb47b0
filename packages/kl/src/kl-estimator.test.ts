import { ValidationError } from '@cohort/core';
import { checkKlEstimatorConformance, expectArraysClose } from '@cohort/core/test';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createKlEstimator } from './kl-estimator';

const toTensor = (values: number[][]) => tf.tensor2d(values);
const toArray = (tensor: tf.Tensor) => tensor.arraySync() as number[][];

describe('createKlEstimator', () => {
  it('gives the Schulman (2020) estimators, checked against hand values', () => {
    // d = logp_ref - logp = -1 and 0.5.
    const input = { logProbs: [-1, -1], refLogProbs: [-2, -0.5] };
    expectArraysClose(createKlEstimator({ name: 'k1' }).estimate(input), [1, -0.5]);
    expectArraysClose(createKlEstimator({ name: 'k2' }).estimate(input), [0.5, 0.125]);
    expectArraysClose(
      createKlEstimator({ name: 'k3' }).estimate(input),
      [Math.exp(-1) + 1 - 1, Math.exp(0.5) - 0.5 - 1],
      1e-12,
    );
    expectArraysClose(createKlEstimator({ name: 'abs' }).estimate(input), [1, 0.5]);
  });

  it('applies its clamps: the log-ratio first, the estimate last', () => {
    const input = { logProbs: [-6, -1], refLogProbs: [-1, -6] };
    // d = 5 and -5: k2 = 12.5 each; the log-ratio clamp 2 gives 2, the value clamp 3 gives 3.
    expectArraysClose(createKlEstimator({ name: 'k2', logRatioClamp: 2 }).estimate(input), [2, 2]);
    expectArraysClose(createKlEstimator({ name: 'k2', clamp: 3 }).estimate(input), [3, 3]);
  });

  for (const name of ['k1', 'k2', 'k3', 'abs'] as const) {
    it(`conforms to KlEstimator (${name})`, () => {
      const estimator = createKlEstimator({ name });
      expect(estimator.name).toBe(name);
      checkKlEstimatorConformance({
        estimator,
        toTensor,
        toArray,
        gradient: ({ logProbs, refLogProbs }) =>
          toArray(
            tf.grad((x: tf.Tensor) =>
              tf.sum(estimator.estimateTensor({ logProbs: x, refLogProbs })),
            )(logProbs),
          ),
        dispose: (tensor) => tensor.dispose(),
      });
    });
  }

  it('refuses an unknown name or a bad clamp, naming the field', () => {
    expect(() => createKlEstimator({ name: 'k4' as 'k1' })).toThrow(ValidationError);
    expect(() => createKlEstimator({ name: 'k4' as 'k1' })).toThrow(/name/);
    expect(() => createKlEstimator({ name: 'k3', clamp: -1 })).toThrow(/clamp/);
  });
});
