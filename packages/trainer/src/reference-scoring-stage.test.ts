import { Random } from '@cohort/core';
import { expectArraysClose } from '@cohort/core/test';
import { initializeBackend, UnigramReference } from '@cohort/tfjs';
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
        estimator,
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
      estimator: 'k3',
    });
    expect(scores).toEqual({ klPerToken: [], klSumPerTrajectory: [], klToReference: 0 });
  });
});
