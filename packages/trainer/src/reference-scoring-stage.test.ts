import { InvalidArgumentError, type KlEstimator, NonFiniteError, Random } from '@cohort/core';
import { expectArraysClose } from '@cohort/core/test';
import { createKlEstimator } from '@cohort/kl';
import { initializeBackend, UnigramReference } from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { scoreReference } from './reference-scoring-stage';
import { fixturePolicy, fixtureTrajectory, unigramLogProb } from './stage-test-fixtures';

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

/** Schulman (2020): with r = q/p, k1 = -log r, k2 = (log r)^2 / 2, k3 = r - 1 - log r. */
const estimators = {
  k1: (logP: number, logQ: number) => logP - logQ,
  k2: (logP: number, logQ: number) => 0.5 * (logP - logQ) ** 2,
  k3: (logP: number, logQ: number) => Math.exp(logQ - logP) - 1 - (logQ - logP),
} as const;

describe('scoreReference', () => {
  it.each(['k1', 'k2', 'k3'] as const)(
    'gives the %s estimate of each sampled token and their mean as the metric',
    async (estimator) => {
      const policyLogits = Array.from(fixturePolicy(1).logits.dataSync());
      const referencePolicy = fixturePolicy(2);
      const referenceLogits = Array.from(referencePolicy.logits.dataSync());
      const random = new Random(9);
      const trajectories = [0, 1, 2].map((index) =>
        fixtureTrajectory({
          id: `t${index}`,
          random,
          behaviorLogits: policyLogits,
          length: 6 + 3 * index,
          sampled: 2 + index,
          reward: 0,
        }),
      );
      const scores = await scoreReference({
        referenceModel: new UnigramReference(referencePolicy),
        trajectories,
        temperature: 1,
        estimator: createKlEstimator({ name: estimator }),
      });
      const expectedPerToken = trajectories.map((trajectory) =>
        trajectory.tokenIds.map((id, position) =>
          trajectory.lossMask[position] === 1
            ? estimators[estimator](
                unigramLogProb(policyLogits, id),
                unigramLogProb(referenceLogits, id),
              )
            : 0,
        ),
      );
      expectArraysClose(scores.klPerToken, expectedPerToken, 1e-6);
      const sums = expectedPerToken.map((row) => row.reduce((sum, value) => sum + value, 0));
      expectArraysClose(scores.klSumPerTrajectory, sums, 1e-6);
      const counts = trajectories.map(
        (trajectory) => trajectory.lossMask.filter((mask) => mask === 1).length,
      );
      expect(scores.klToReference).toBeCloseTo(
        (sums[0]! / counts[0]! + sums[1]! / counts[1]! + sums[2]! / counts[2]!) / 3,
        6,
      );
      expect(Math.abs(scores.klToReference)).toBeGreaterThan(1e-3);
    },
  );

  it('scores no trajectory to an empty record', async () => {
    const scores = await scoreReference({
      referenceModel: new UnigramReference(fixturePolicy()),
      trajectories: [],
      temperature: 1,
      estimator: createKlEstimator({ name: 'k3' }),
    });
    expect(scores).toEqual({ klPerToken: [], klSumPerTrajectory: [], klToReference: 0 });
  });

  it("uses a user's estimator on the sampled tokens, and refuses one that gives a wrong count or NaN", async () => {
    const referencePolicy = fixturePolicy(2);
    const policyLogits = Array.from(fixturePolicy(1).logits.dataSync());
    const trajectories = [
      fixtureTrajectory({
        id: 't0',
        random: new Random(4),
        behaviorLogits: policyLogits,
        length: 7,
        sampled: 3,
        reward: 0,
      }),
    ];
    const user = (estimate: KlEstimator<tf.Tensor>['estimate']): KlEstimator<tf.Tensor> => ({
      name: 'user',
      estimate,
      estimateTensor: () => {
        throw new Error('not used by this stage');
      },
    });
    const score = (estimator: KlEstimator<tf.Tensor>) =>
      scoreReference({
        referenceModel: new UnigramReference(referencePolicy),
        trajectories,
        temperature: 1,
        estimator,
      });
    const referenceLogits = Array.from(referencePolicy.logits.dataSync());
    const squares = await score(
      user(({ logProbs, refLogProbs }) => logProbs.map((p, t) => (p - refLogProbs[t]!) ** 2)),
    );
    const expected = trajectories[0]!.tokenIds.map((id, position) =>
      trajectories[0]!.lossMask[position] === 1
        ? (unigramLogProb(policyLogits, id) - unigramLogProb(referenceLogits, id)) ** 2
        : 0,
    );
    expectArraysClose(squares.klPerToken, [expected], 1e-6);
    await expect(score(user(({ logProbs }) => logProbs.slice(1)))).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(score(user(({ logProbs }) => logProbs.map(() => Number.NaN)))).rejects.toThrow(
      NonFiniteError,
    );
  });
});
