import { describe, expect, it } from 'vitest';
import type { KlEstimator } from '../kl-estimator';
import type { Policy, SampledCompletion, SampleRequest } from '../policy';
import {
  ConformanceError,
  checkKlEstimatorConformance,
  checkPolicyConformance,
  checkRewardFunctionConformance,
} from './conformance';
import { MockPolicy } from './mock-policy';
import { MockTokenizer } from './mock-tokenizer';

const tokenizer = new MockTokenizer();
const logits = Array.from({ length: tokenizer.vocabSize }, (_, id) => Math.sin(id) * 2);
const prompts = [tokenizer.encode('hi'), tokenizer.encode('hello there')];

/** A MockPolicy with one guarantee broken, to show that the suite catches it. */
class OffByOnePolicy extends MockPolicy {
  override async sample(request: SampleRequest): Promise<SampledCompletion[]> {
    const completions = await super.sample(request);
    return completions.map((completion) => ({
      ...completion,
      logProbsPerToken: completion.logProbsPerToken.map((value) => value - 0.01),
    }));
  }
}

describe('the Policy conformance suite', () => {
  it('passes MockPolicy', async () => {
    await checkPolicyConformance({
      policy: new MockPolicy({ logits }),
      toArray: (rows) => rows,
      prompts,
      stopTokenIds: [tokenizer.endOfTurnTokenId],
      tolerance: 1e-9,
    });
  });

  it('catches sampled log-probs that tokenLogProbs does not reproduce, and unordered completions', async () => {
    await expect(
      checkPolicyConformance({
        policy: new OffByOnePolicy({ logits }),
        toArray: (rows) => rows,
        prompts,
      }),
    ).rejects.toThrow(/Policy: tokenLogProbs reproduces the sampled log-probs/);
    const base = new MockPolicy({ logits });
    const reversed: Policy<number[][], never> = {
      tokenizer,
      version: 0,
      sample: async (request) => (await base.sample(request)).reverse(),
      tokenLogProbs: (request) => base.tokenLogProbs(request),
      trainableVariables: () => [],
    };
    await expect(
      checkPolicyConformance({ policy: reversed, toArray: (rows) => rows, prompts }),
    ).rejects.toThrow(ConformanceError);
  });
});

describe('the RewardFunction conformance suite', () => {
  const context = {
    scenario: {},
    messages: [],
    completion: 'ok',
    turnIndex: 0,
    done: true,
    completionTokenCount: 2,
  };
  it('catches a non-finite score and a reward that changes its mind', async () => {
    await expect(
      checkRewardFunctionConformance({
        reward: { name: 'nan', score: () => Number.NaN },
        contexts: [context],
      }),
    ).rejects.toThrow(/a score is a finite number or null/);
    let calls = 0;
    await expect(
      checkRewardFunctionConformance({
        reward: { name: 'drifting', score: () => calls++ },
        contexts: [context],
      }),
    ).rejects.toThrow(/the same context scores the same/);
    await checkRewardFunctionConformance({
      reward: { name: 'constant', score: () => 0.5 },
      contexts: [context],
    });
  });
});

describe('the KlEstimator conformance suite', () => {
  // A "runtime" whose tensors are plain [row][position] arrays, with k2 and its gradient by hand.
  type Rows = number[][];
  const k2 = (p: number, q: number) => 0.5 * (q - p) ** 2;
  function estimator(tensorValue: (p: number, q: number) => number): KlEstimator<Rows> {
    return {
      name: 'k2',
      estimate: ({ logProbs, refLogProbs }) =>
        logProbs.map((p, index) => k2(p, refLogProbs[index]!)),
      estimateTensor: ({ logProbs, refLogProbs }) =>
        logProbs.map((row, r) => row.map((p, t) => tensorValue(p, refLogProbs[r]![t]!))),
    };
  }
  const options = (kl: KlEstimator<Rows>, gradient: (p: number, q: number) => number) => ({
    estimator: kl,
    toTensor: (values: Rows) => values,
    toArray: (tensor: Rows) => tensor,
    gradient: ({ logProbs, refLogProbs }: { logProbs: Rows; refLogProbs: Rows }) =>
      logProbs.map((row, r) => row.map((p, t) => gradient(p, refLogProbs[r]![t]!))),
  });

  it('passes k2 with its true gradient, p - q', () => {
    expect(() =>
      checkKlEstimatorConformance(options(estimator(k2), (p, q) => p - q)),
    ).not.toThrow();
  });

  it('catches tensor values that disagree with the arrays, and a wrong gradient', () => {
    expect(() =>
      checkKlEstimatorConformance(
        options(
          estimator((p, q) => 2 * k2(p, q)),
          (p, q) => p - q,
        ),
      ),
    ).toThrow(/estimate and estimateTensor agree/);
    expect(() => checkKlEstimatorConformance(options(estimator(k2), (p, q) => q - p))).toThrow(
      ConformanceError,
    );
    expect(() =>
      checkKlEstimatorConformance(
        options(
          estimator((p, q) => k2(p, q) + 0.1),
          (p, q) => p - q,
        ),
      ),
    ).toThrow(/agree/);
  });
});
