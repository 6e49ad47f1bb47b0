import type { AdvantageEstimator, KlEstimator } from '@cohort/core';
import { InvalidArgumentError } from '@cohort/core';
import { expectArraysClose, MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment } from '@cohort/environments';
import {
  createGptModel,
  createOptimizer,
  createValueHead,
  initializeBackend,
  UnigramPolicy,
  UnigramReference,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GrpoTrainer, type GrpoTrainerOptions, type TrainerEvent } from './grpo-trainer';
import type { GrpoTrainingOptionsInput } from './grpo-training-options';
import { createInProcessRolloutSource } from './in-process-rollout-source';
import type { RolloutSource, RolloutSourceRequest } from './rollout-source';
import { unigramLogProb } from './stage-test-fixtures';
import { GptValueFunction } from './value-function';

const tokenizer = new MockTokenizer();
const digitIds = [...'01234'].map((digit) => tokenizer.encode(digit)[0]!);

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

function banditTrainer(
  config: GrpoTrainingOptionsInput,
  extra: Partial<GrpoTrainerOptions<{ id: string }>> = {},
) {
  const initialLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    digitIds.includes(id) ? 2 + 0.1 * id : id === tokenizer.endOfTurnTokenId ? 1 : -4,
  );
  const policy = new UnigramPolicy({ tokenizer, initialLogits });
  const events: TrainerEvent[] = [];
  const trainer = new GrpoTrainer({
    policy,
    referenceModel: new UnigramReference(policy),
    environment: createBanditEnvironment({
      bandit: { armMeans: [0.1, 0.3, 0.5, 0.7, 0.9], noise: 'gaussian', noiseStd: 0.1, seed: 2 },
    }),
    trainScenarios: [{ id: 'bandit' }],
    rewards: [],
    onEvent: (event) => events.push(event),
    config: {
      seed: 2,
      scenariosPerStep: 2,
      groupSize: 8,
      generation: { maxNewTokens: 2 },
      ...config,
    },
    ...extra,
  });
  return { trainer, policy, events, initialLogits: Array.from(policy.logits.dataSync()) };
}

describe('GrpoTrainer settings that must take effect', () => {
  it('builds its optimizer from config.optimizer: the first Adam step moves each logit by about the learning rate', async () => {
    for (const learningRate of [0.01, 0.05]) {
      const { trainer, policy, initialLogits } = banditTrainer({
        optimizer: { type: 'adam', learningRate },
      });
      await trainer.step();
      const after = Array.from(policy.logits.dataSync());
      const moves = after.map((value, index) => Math.abs(value - initialLogits[index]!));
      // Adam's first step is lr * g / (|g| + eps): the largest move is the learning rate.
      expect(Math.max(...moves)).toBeCloseTo(learningRate, 4);
    }
  });

  it('refuses a non-default config.optimizer next to an optimizer instance that would replace it', () => {
    const policy = new UnigramPolicy({ tokenizer });
    const optimizer = createOptimizer({ learningRate: 0.1, variables: policy.namedVariables() });
    expect(() => banditTrainer({ optimizer: { learningRate: 0.3 } }, { optimizer })).toThrow(
      /config\.optimizer = .*would not take effect/s,
    );
    expect(() => banditTrainer({}, { optimizer })).not.toThrow();
  });

  it('refuses AdamW decay that would decay no parameter, and decays vectors when asked', async () => {
    const call = () => banditTrainer({ optimizer: { type: 'adamw', weightDecay: 0.1 } });
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(/config\.optimizer\.weightDecay.*rank < 2/);
    const { trainer, policy, initialLogits } = banditTrainer({
      optimizer: { type: 'adamw', learningRate: 0.05, weightDecay: 0.5, decayVectors: true },
    });
    await trainer.step();
    // Decoupled decay multiplies every logit by (1 - lr wd) = 0.975, moving -4 to -3.9; Adam alone moves at most lr = 0.05.
    const after = Array.from(policy.logits.dataSync());
    const unsampled = initialLogits.indexOf(-4);
    expect(after[unsampled]!).toBeGreaterThan(-4 + 0.05);
    expect(Math.abs(after[unsampled]! - -4 * 0.975)).toBeLessThanOrEqual(0.05 + 1e-6);
  });

  it("uses config.kl.estimator in the loss: k1 and k3 train differently, an unset estimator is the objective preset's k3", async () => {
    const weights: Record<string, number[]> = {};
    for (const [name, estimator] of [
      ['k1', 'k1'],
      ['k3', 'k3'],
      ['unset', undefined],
    ] as const) {
      const { trainer, policy } = banditTrainer({
        optimizer: { type: 'adam', learningRate: 0.1 },
        kl: {
          controller: { type: 'fixed', coefficient: 0.5 },
          ...(estimator ? { estimator } : {}),
        },
      });
      for (let step = 0; step < 3; step++) await trainer.step();
      weights[name] = Array.from(policy.logits.dataSync());
    }
    expect(weights.unset).toEqual(weights.k3);
    const difference = Math.max(
      ...weights.k1!.map((value, index) => Math.abs(value - weights.k3![index]!)),
    );
    expect(difference).toBeGreaterThan(1e-4);
  });

  it('refuses kl.estimator that disagrees with objective.klEstimator', () => {
    expect(() =>
      banditTrainer({ kl: { estimator: 'k1' }, objective: { preset: 'grpo', klEstimator: 'k2' } }),
    ).toThrow(/config\.kl\.estimator.*disagrees with config\.objective\.klEstimator/);
  });

  /** k3, `exp(d) - d - 1` with `d = logp_ref - logp`, written here apart from @cohort/kl (as `expm1(d) - d`), times `scale`. */
  function userK3(scale: number): KlEstimator<tf.Tensor> {
    return {
      name: `k3x${scale}`,
      estimate: ({ logProbs, refLogProbs }) =>
        logProbs.map((logProb, index) => {
          const d = refLogProbs[index]! - logProb;
          return scale * (Math.exp(d) - d - 1);
        }),
      estimateTensor: ({ logProbs, refLogProbs }) =>
        tf.tidy(() => {
          const d = tf.sub(refLogProbs, logProbs);
          return tf.mul(scale, tf.sub(tf.expm1(d), d));
        }),
    };
  }

  it('takes a klEstimator instance as the one estimator of the loss, the reward and the metric', async () => {
    const run = async (config: GrpoTrainingOptionsInput, klEstimator?: KlEstimator<tf.Tensor>) => {
      // A reference away from the initial policy, so the KL and its gradient are far above float32 noise.
      const referenceLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
        digitIds.includes(id) ? 2.5 - 0.2 * id : 0.5,
      );
      const referenceModel = new UnigramReference(
        new UnigramPolicy({ tokenizer, initialLogits: referenceLogits }),
      );
      const { trainer, policy } = banditTrainer(
        { optimizer: { type: 'adam', learningRate: 0.1 }, ...config },
        { referenceModel, ...(klEstimator ? { klEstimator } : {}) },
      );
      const results = [];
      for (let step = 0; step < 3; step++) results.push(await trainer.stepWithRecords());
      return { trainer, results, weights: Array.from(policy.logits.dataSync()) };
    };
    const inLoss = { controller: { type: 'fixed', coefficient: 0.5 } } as const;
    const named = await run({ kl: { ...inLoss, estimator: 'k3' } });
    const same = await run({ kl: inLoss }, userK3(1));
    const scaled = await run({ kl: inLoss }, userK3(4));
    expect(same.trainer.klEstimator.name).toBe('k3x1');
    expect(named.trainer.klEstimator.name).toBe('k3');
    // The user's k3 trains as the built-in k3 does (float32 rounding apart) ...
    expectArraysClose(same.weights, named.weights, 1e-4);
    // ... and four times k3 pulls harder toward the reference: a different policy, a 4x metric.
    const moved = Math.max(
      ...scaled.weights.map((value, index) => Math.abs(value - named.weights[index]!)),
    );
    expect(moved).toBeGreaterThan(1e-3);
    const firstMetric = (result: typeof named) => result.results[0]!.metrics.klToReference;
    expect(firstMetric(named)).toBeGreaterThan(0);
    expect(firstMetric(scaled)).toBeCloseTo(4 * firstMetric(named), 6);
    expect(same.results[0]!.objectiveMetrics.klToReference).toBeCloseTo(
      named.results[0]!.objectiveMetrics.klToReference!,
      6,
    );

    // In the reward: return = R - beta * sum of the user's per-token KL.
    const beta = 0.3;
    const inReward = await run(
      { kl: { controller: { type: 'fixed', coefficient: beta }, placement: 'reward' } },
      userK3(4),
    );
    const records = inReward.results[1]!.records;
    for (const record of records) {
      const sum = record.klPerToken.reduce((total, value) => total + value, 0);
      expect(record.shapedReturn).toBeCloseTo(record.totalReward - beta * sum, 5);
    }
    const namedInReward = await run({
      kl: {
        controller: { type: 'fixed', coefficient: beta },
        placement: 'reward',
        estimator: 'k3',
      },
    });
    namedInReward.results[1]!.records.forEach((record, index) => {
      const klSum = record.klPerToken.reduce((total, value) => total + value, 0);
      const userSum = records[index]!.klPerToken.reduce((total, value) => total + value, 0);
      if (klSum > 1e-6) expect(userSum / klSum).toBeCloseTo(4, 3);
    });
  });

  it('refuses KL settings that a klEstimator instance replaces', () => {
    const klEstimator = userK3(1);
    for (const [config, field] of [
      [{ kl: { estimator: 'k1' } }, 'config.kl.estimator'],
      [{ objective: { preset: 'grpo', klEstimator: 'k2' } }, 'config.objective.klEstimator'],
      [{ objective: { preset: 'grpo', klClamp: 10 } }, 'config.objective.klClamp'],
      [
        { objective: { preset: 'grpo', klStraightThrough: true } },
        'config.objective.klStraightThrough',
      ],
    ] as const) {
      expect(() => banditTrainer(config, { klEstimator })).toThrow(
        new RegExp(
          `${field.replaceAll('.', '\\.')} = .*would not take effect: the klEstimator instance 'k3x1'`,
        ),
      );
    }
  });

  it('refuses config.advantage next to an advantageEstimator instance', () => {
    const estimator: AdvantageEstimator = {
      name: 'raw',
      estimate: ({ rewards }) => ({ advantages: [...rewards], zeroSpreadGroupFraction: 0 }),
    };
    expect(() =>
      banditTrainer({ advantage: { type: 'rloo' } }, { advantageEstimator: estimator }),
    ).toThrow(/config\.advantage = .*would not take effect/s);
    expect(banditTrainer({}, { advantageEstimator: estimator }).trainer.advantageEstimator).toBe(
      estimator,
    );
  });
});

describe('GrpoTrainer rollout sources', () => {
  it('meets every source through one protocol: the in-process source given explicitly trains bit-identically to the default', async () => {
    const reference = banditTrainer({ optimizer: { type: 'adam', learningRate: 0.1 } });
    for (let step = 0; step < 2; step++) await reference.trainer.step();
    expect(reference.trainer.rolloutSource.kind).toBe('in-process');
    const environment = createBanditEnvironment({
      bandit: { armMeans: [0.1, 0.3, 0.5, 0.7, 0.9], noise: 'gaussian', noiseStd: 0.1, seed: 2 },
    });
    const inner = createInProcessRolloutSource<{ id: string }>({ environment, rewards: [] });
    const requests: RolloutSourceRequest<{ id: string }>[] = [];
    const rolloutSource: RolloutSource<{ id: string }> = {
      kind: 'recording',
      collect: (request) => {
        requests.push(request);
        return inner.collect(request);
      },
    };
    const { trainer, policy } = banditTrainer(
      { optimizer: { type: 'adam', learningRate: 0.1 } },
      { rolloutSource },
    );
    for (let step = 0; step < 2; step++) await trainer.step();
    expect(Array.from(policy.logits.dataSync())).toEqual(
      Array.from(reference.policy.logits.dataSync()),
    );
    expect(requests.map((request) => [request.step, request.currentVersion])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(requests[0]!.policy).toBe(policy);
    expect(requests[0]!.dynamicSampling).toEqual(trainer.config.dynamicSampling);
  });
});

describe('GrpoTrainer settings that cannot take effect', () => {
  it('refuses a value function or its optimizer while config.value.enabled is false', () => {
    const critic = new GptValueFunction({
      model: createGptModel({
        config: {
          vocabSize: tokenizer.vocabSize,
          contextLength: 16,
          embeddingSize: 8,
          layerCount: 1,
          headCount: 1,
        },
        seed: 1,
      }),
      head: createValueHead({ inputSize: 8 }),
    });
    expect(() => banditTrainer({}, { valueFunction: critic })).toThrow(
      /valueFunction = .*would not take effect: config\.value\.enabled is false/,
    );
    const valueOptimizer = createOptimizer({
      type: 'adam',
      learningRate: 0.01,
      variables: critic.namedVariables(),
    });
    expect(() => banditTrainer({}, { valueOptimizer })).toThrow(
      /valueOptimizer = .*would not take effect/,
    );
    expect(() =>
      banditTrainer({ value: { enabled: true } }, { valueFunction: critic, valueOptimizer }),
    ).not.toThrow();
  });

  it('warns, once, for each setting whose switch is off', async () => {
    const { trainer, events } = banditTrainer({
      value: { enabled: false, gamma: 0.9 },
      dynamicSampling: { enabled: false, maxRefills: 5 },
      referenceRefresh: { mode: 'hard', everySteps: 50, alpha: 0.5 },
    });
    await trainer.step();
    await trainer.step();
    const warnings = events.flatMap((event) => (event.type === 'warning' ? [event.message] : []));
    expect(warnings).toEqual([
      'config.value.gamma = 0.9 has no effect: config.value.enabled is false',
      'config.dynamicSampling.maxRefills = 5 has no effect: config.dynamicSampling.enabled is false',
      "config.referenceRefresh.alpha = 0.5 has no effect: only mode 'mix' mixes (config.referenceRefresh.mode is 'hard')",
    ]);
    const quiet = banditTrainer({ referenceRefresh: { mode: 'mix', everySteps: 3, alpha: 0.5 } });
    await quiet.trainer.step();
    expect(quiet.events.some((event) => event.type === 'warning')).toBe(false);
  });
});

describe('GrpoTrainer step records', () => {
  it('puts the KL in the reward with kl.placement reward: return = R - beta sum KL, and no KL term in the loss', async () => {
    const beta = 0.3;
    const { trainer, initialLogits } = banditTrainer({
      optimizer: { type: 'adam', learningRate: 0.2 },
      kl: {
        controller: { type: 'fixed', coefficient: beta },
        placement: 'reward',
        estimator: 'k1',
      },
    });
    await trainer.step();
    const { records, metrics, objectiveMetrics } = await trainer.stepWithRecords();
    expect(records).toHaveLength(16);
    let klTotal = 0;
    for (const record of records) {
      let sum = 0;
      record.tokenIds.forEach((id, position) => {
        if (record.lossMask[position] !== 1) return;
        // k1 against the frozen initial policy, computed here in float64.
        sum += record.behaviorLogProbsPerToken[position]! - unigramLogProb(initialLogits, id);
      });
      expect(record.shapedReturn).toBeCloseTo(record.totalReward - beta * sum, 5);
      klTotal += Math.abs(sum);
      expect(record.policyVersion).toBe(1);
      expect(record.learnerVersion).toBe(2);
    }
    expect(klTotal).toBeGreaterThan(0.05);
    expect(objectiveMetrics.klToReference).toBeUndefined();
    expect(metrics.policyVersion).toBe(2);
    const inLoss = banditTrainer({ kl: { controller: { type: 'fixed', coefficient: beta } } });
    expect((await inLoss.trainer.stepWithRecords()).objectiveMetrics.klToReference).toBeDefined();
  });

  it('records advantages only on sampled tokens, with the entropy and the KL of each', async () => {
    const { trainer, events } = banditTrainer({
      kl: { controller: { type: 'fixed', coefficient: 0.1 } },
    });
    const { records, metrics } = await trainer.stepWithRecords();
    const record = records.find((entry) => entry.advantagesPerToken.some((value) => value !== 0))!;
    record.lossMask.forEach((mask, position) => {
      if (mask === 0) {
        expect(record.advantagesPerToken[position]).toBe(0);
        expect(record.klPerToken[position]).toBe(0);
      }
    });
    expect(record.entropyPerToken.length).toBe(record.tokenIds.length);
    expect(record.entropyPerToken.at(-1)!).toBeGreaterThan(0);
    const perTrajectoryMeans = records.map((entry) => {
      const count = entry.lossMask.filter((mask) => mask === 1).length;
      return entry.klPerToken.reduce((sum, value) => sum + value, 0) / count;
    });
    expect(metrics.klToReference).toBeCloseTo(
      perTrajectoryMeans.reduce((sum, value) => sum + value, 0) / records.length,
      9,
    );
    expect(
      events.some((event) => event.type === 'trajectory-records' && event.records.length === 16),
    ).toBe(true);
  });
});
