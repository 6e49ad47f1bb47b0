import { checkKlEstimatorConformance, expectArraysClose } from '@cohort/core/test';
import { initializeBackend } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BoundedKlEstimator } from './bounded-kl-estimator';
import { main } from './main';
import { RankAdvantageEstimator } from './rank-advantage-estimator';
import { TruncatedReinforceObjective } from './truncated-reinforce-objective';

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

describe('examples/custom-algorithm', () => {
  it('ranks rewards within each group, ties sharing their mean rank', () => {
    const { advantages, zeroSpreadGroupFraction } = new RankAdvantageEstimator().estimate({
      rewards: [0.2, 5, -1, 0.2, 3, 3, 3, 3],
      groupSize: 4,
    });
    // Group 1 ranks: -1 -> 0, 0.2 and 0.2 -> 1.5, 5 -> 3; scaled by (r - 1.5) / 1.5.
    expectArraysClose(advantages, [0, 1, -1, 0, 0, 0, 0, 0], 1e-12);
    expect(zeroSpreadGroupFraction).toBe(0.5);
    expect(() =>
      new RankAdvantageEstimator().estimate({ rewards: [1, 2, 3], groupSize: 2 }),
    ).toThrow(/groupSize/);
  });

  it('bounds the KL estimate: k2 near the reference, at most cap far from it, and conforms to KlEstimator', () => {
    const estimator = new BoundedKlEstimator(1);
    // d = 0.1: k2 = 0.005, tanh(0.005) = 0.00499996; d = 10: k2 = 50, tanh(50) = 1.
    expectArraysClose(
      estimator.estimate({ logProbs: [-1, -1, -12], refLogProbs: [-1, -1.1, -2] }),
      [0, Math.tanh(0.005), Math.tanh(50)],
      1e-12,
    );
    checkKlEstimatorConformance({
      estimator,
      toTensor: (values) => tf.tensor2d(values),
      toArray: (tensor) => tensor.arraySync() as number[][],
      gradient: ({ logProbs, refLogProbs }) =>
        tf
          .grad((x: tf.Tensor) => tf.sum(estimator.estimateTensor({ logProbs: x, refLogProbs })))(
            logProbs,
          )
          .arraySync() as number[][],
    });
    expect(() => new BoundedKlEstimator(0)).toThrow(/cap/);
  });

  it('computes the truncated REINFORCE loss and its gradient as written by hand', () => {
    const objective = new TruncatedReinforceObjective(1.5);
    const oldLogProbs = tf.tensor2d([[0, -1, -2, -0.5]]);
    const advantages = tf.tensor2d([[0, 1, -2, 1]]);
    const lossMask = tf.tensor2d([[0, 1, 1, 1]]);
    const point = [-0.3, -1.2, -1.5, -0.5];
    const logProbs = tf.variable(tf.tensor2d([point]));
    // rho = exp(logp - old) on the masked tokens: e^-0.2, e^0.5 (truncated to 1.5), e^0.
    const rho = [Math.exp(-0.2), Math.exp(0.5), 1];
    const expectedLoss = -(1 * rho[0]! + -2 * 1.5 + 1 * rho[2]!) / 3;
    // d/dlogp of -A min(rho, c) / n: -A rho / n below c, -A c / n above (the scaled gradient).
    const expectedGradient = [0, (-1 * rho[0]!) / 3, (2 * 1.5) / 3, (-1 * rho[2]!) / 3];
    const { value, grads } = tf.variableGrads(
      () => objective.compute({ logProbs, oldLogProbs, advantages, lossMask }).loss as tf.Scalar,
      [logProbs],
    );
    expect(value.dataSync()[0]).toBeCloseTo(expectedLoss, 6);
    expectArraysClose(Array.from(grads[logProbs.name]!.dataSync()), expectedGradient, 1e-5);
  });

  it('trains: the expected reward and the best arm probability rise by margins chance would not give', async () => {
    const lines: string[] = [];
    const run = await main({ steps: 30, log: (line) => lines.push(line) });
    // Uniform over the arms pays about 0.45 and names arm 4 with p ~ 0.18.
    expect(run.expectedRewardBefore).toBeLessThan(0.5);
    expect(run.bestArmProbabilityBefore).toBeLessThan(0.2);
    expect(run.expectedRewardAfter).toBeGreaterThan(0.8);
    expect(run.bestArmProbabilityAfter).toBeGreaterThan(0.75);
    expect(lines.join('\n')).toContain('expected reward');
  });
});
