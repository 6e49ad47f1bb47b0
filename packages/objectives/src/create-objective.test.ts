import { InvalidArgumentError, type KlEstimator, Random, ValidationError } from '@cohort/core';
import { expectArraysClose } from '@cohort/core/test';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { clippedSurrogateLoss } from './clipped-surrogate-loss';
import { createObjective, resolveObjectiveOptions } from './create-objective';
import { ObjectiveOptionsSchema } from './objective-options';
import { dapo, drGrpo, grpo, gspo, objectivePresets, ppo, vanillaPg } from './presets';

describe('presets', () => {
  it('hold the published settings', () => {
    expect(grpo).toMatchObject({
      ratioLevel: 'token',
      clipLow: 0.2,
      clipHigh: 0.2,
      aggregation: 'sequence-mean',
      klCoefficient: 0.04,
      klEstimator: 'k3',
    });
    expect(drGrpo).toMatchObject({ aggregation: 'constant', klCoefficient: 0 });
    expect(dapo).toMatchObject({
      clipLow: 0.2,
      clipHigh: 0.28,
      aggregation: 'token-mean',
      klCoefficient: 0,
    });
    expect(gspo).toMatchObject({
      ratioLevel: 'sequence',
      clipLow: 3e-4,
      clipHigh: 4e-4,
      aggregation: 'sequence-mean',
    });
    expect(ppo).toMatchObject({
      clip: true,
      clipLow: 0.2,
      clipHigh: 0.2,
      aggregation: 'token-mean',
    });
    expect(vanillaPg.clip).toBe(false);
    expect(Object.keys(objectivePresets).sort()).toEqual([
      'bnpo',
      'cispo',
      'dapo',
      'drGrpo',
      'grpo',
      'gspo',
      'ppo',
      'sapo',
      'vanillaPg',
    ]);
    expect(Object.isFrozen(grpo)).toBe(true);
  });
});

describe('resolveObjectiveOptions', () => {
  it('layers defaults, preset and explicit fields', () => {
    expect(resolveObjectiveOptions({})).toEqual({ ...ppo });
    expect(resolveObjectiveOptions({ preset: 'grpo', klCoefficient: 0 })).toEqual({
      ...grpo,
      klCoefficient: 0,
    });
    expect(resolveObjectiveOptions({ clipLow: 0.1 })).toMatchObject({
      clipLow: 0.1,
      clipHigh: 0.1,
    });
    expect(resolveObjectiveOptions({ preset: 'dapo', clipLow: 0.1 })).toMatchObject({
      clipLow: 0.1,
      clipHigh: 0.1,
    });
    expect(resolveObjectiveOptions({ preset: 'dapo', clipHigh: 0.3 })).toMatchObject({
      clipLow: 0.2,
      clipHigh: 0.3,
    });
    expect(resolveObjectiveOptions({ preset: 'ppo', dualClip: 3 }).dualClip).toBe(3);
  });

  it('names bad fields in a ValidationError', () => {
    const cases: [unknown, string][] = [
      [{ clipLow: 1.01 }, 'clipLow'],
      [{ clipHigh: -0.1 }, 'clipHigh'],
      [{ dualClip: 1 }, 'dualClip'],
      [{ preset: 'trpo' }, 'preset'],
      [{ aggregation: 'mean' }, 'aggregation'],
      [{ klEstimator: 'k4' }, 'klEstimator'],
      [{ klCoefficient: -1 }, 'klCoefficient'],
    ];
    for (const [config, path] of cases) {
      try {
        resolveObjectiveOptions(config as never);
        expect.unreachable();
      } catch (error) {
        expect(ValidationError.isInstance(error)).toBe(true);
        expect((error as ValidationError).issues.map((issue) => issue.path)).toContain(path);
      }
    }
    expect(() => resolveObjectiveOptions({ clipRange: 0.2 } as never)).toThrow(ValidationError);
    expect(
      ObjectiveOptionsSchema.safeParse({ preset: 'gspo', entropyCoefficient: 0.01 }).success,
    ).toBe(true);
  });
});

describe('createObjective', () => {
  function batch() {
    const random = new Random(10);
    const old = Array.from({ length: 3 }, () =>
      Array.from({ length: 4 }, () => random.uniform(-2, -0.1)),
    );
    return {
      oldLogProbs: tf.tensor2d(old),
      logProbs: tf.tensor2d(old.map((row) => row.map((v) => v + random.normal(0, 0.2)))),
      refLogProbs: tf.tensor2d(old.map((row) => row.map((v) => v + random.normal(0, 0.2)))),
      advantages: tf.tensor1d([1, -0.5, 0.25]),
      lossMask: tf.tensor2d([
        [1, 1, 1, 0],
        [0, 1, 1, 1],
        [1, 0, 0, 0],
      ]),
    };
  }

  it('computes the preset through clippedSurrogateLoss, with a per-call KL coefficient', () => {
    const inputs = batch();
    const objective = createObjective({ preset: 'grpo' });
    expect(objective.name).toBe('grpo');
    const result = objective.compute(inputs);
    const direct = clippedSurrogateLoss({ ...inputs, ...grpo });
    expect(result.loss.dataSync()[0]).toBeCloseTo(direct.loss.dataSync()[0]!, 6);
    expect(result.metrics).toEqual(direct.metrics);
    const overridden = objective.compute(inputs, { klCoefficient: 1 });
    const directOverridden = clippedSurrogateLoss({ ...inputs, ...grpo, klCoefficient: 1 });
    expect(overridden.loss.dataSync()[0]).toBeCloseTo(directOverridden.loss.dataSync()[0]!, 6);
    expect(overridden.loss.dataSync()[0]).not.toBeCloseTo(result.loss.dataSync()[0]!, 3);
    expect(() => objective.compute(inputs, { klCoefficient: Number.NaN })).toThrow(
      /overrides.klCoefficient = NaN/,
    );
    expect(createObjective({ clip: false }).name).toBe('custom');
    tf.dispose([
      result.loss,
      direct.loss,
      overridden.loss,
      directOverridden.loss,
      ...Object.values(inputs),
    ]);
  });

  /** 1.5 (logp - logp_ref)^2, an estimator no built-in name gives, written here on arrays and tensors. */
  const scaledSquare: KlEstimator<tf.Tensor> = {
    name: 'scaled-square',
    estimate: ({ logProbs, refLogProbs }) =>
      logProbs.map((value, index) => 1.5 * (value - refLogProbs[index]!) ** 2),
    estimateTensor: ({ logProbs, refLogProbs }) =>
      tf.mul(1.5, tf.square(tf.sub(logProbs, refLogProbs))),
  };

  it('takes a KL estimator instance: the KL term is its sequence-mean, checked in float64', () => {
    const inputs = batch();
    const objective = createObjective({ preset: 'grpo' }, { klEstimator: scaledSquare });
    const withKl = objective.compute(inputs, { klCoefficient: 1 });
    const without = objective.compute(inputs, { klCoefficient: 0 });
    const logProbs = inputs.logProbs.arraySync() as number[][];
    const refLogProbs = inputs.refLogProbs.arraySync() as number[][];
    const mask = inputs.lossMask.arraySync() as number[][];
    // GRPO aggregates each sequence's token mean, then the mean over sequences.
    const expected =
      logProbs.reduce((sum, row, rowIndex) => {
        let total = 0;
        let count = 0;
        row.forEach((value, position) => {
          if (mask[rowIndex]![position] !== 1) return;
          total += 1.5 * (value - refLogProbs[rowIndex]![position]!) ** 2;
          count++;
        });
        return sum + total / count;
      }, 0) / logProbs.length;
    expect(withKl.loss.dataSync()[0]! - without.loss.dataSync()[0]!).toBeCloseTo(expected, 5);
    const builtIn = createObjective({ preset: 'grpo' }).compute(inputs, { klCoefficient: 1 });
    expect(Math.abs(builtIn.loss.dataSync()[0]! - withKl.loss.dataSync()[0]!)).toBeGreaterThan(
      1e-3,
    );
    tf.dispose([withKl.loss, without.loss, builtIn.loss, ...Object.values(inputs)]);
  });

  it('gives the built-in loss and gradient with an instance that computes k3 independently', () => {
    const inputs = batch();
    const k3: KlEstimator<tf.Tensor> = {
      name: 'my-k3',
      estimate: ({ logProbs, refLogProbs }) =>
        logProbs.map((value, index) => {
          const d = refLogProbs[index]! - value;
          return Math.exp(d) - d - 1;
        }),
      estimateTensor: ({ logProbs, refLogProbs }) => {
        const d = tf.sub(refLogProbs, logProbs);
        return tf.sub(tf.sub(tf.exp(d), d), 1);
      },
    };
    const lossOf = (objective: ReturnType<typeof createObjective>) =>
      tf.valueAndGrad(
        (logProbs: tf.Tensor) =>
          objective.compute({ ...inputs, logProbs }, { klCoefficient: 0.7 }).loss,
      )(inputs.logProbs);
    const mine = lossOf(createObjective({ preset: 'grpo' }, { klEstimator: k3 }));
    const builtIn = lossOf(createObjective({ preset: 'grpo', klEstimator: 'k3' }));
    expect(mine.value.dataSync()[0]).toBeCloseTo(builtIn.value.dataSync()[0]!, 5);
    expectArraysClose(Array.from(mine.grad.dataSync()), Array.from(builtIn.grad.dataSync()), 1e-5);
    tf.dispose([mine.value, mine.grad, builtIn.value, builtIn.grad, ...Object.values(inputs)]);
  });

  it('refuses settings an estimator instance would leave without effect, and a wrong shape', () => {
    expect(() =>
      createObjective({ preset: 'grpo', klEstimator: 'k1' }, { klEstimator: scaledSquare }),
    ).toThrow(/config\.klEstimator = "k1": would not take effect/);
    expect(() =>
      createObjective({ preset: 'grpo', klClamp: 10 }, { klEstimator: scaledSquare }),
    ).toThrow(InvalidArgumentError);
    const inputs = batch();
    expect(() =>
      clippedSurrogateLoss({ ...inputs, klEstimator: scaledSquare, klStraightThrough: true }),
    ).toThrow(/klStraightThrough = true: would not take effect/);
    const perSequence: KlEstimator<tf.Tensor> = {
      ...scaledSquare,
      name: 'per-sequence',
      estimateTensor: ({ logProbs }) => tf.sum(logProbs, 1),
    };
    expect(() =>
      clippedSurrogateLoss({ ...inputs, klCoefficient: 0.1, klEstimator: perSequence }),
    ).toThrow(/klEstimator 'per-sequence' estimateTensor.*must have shape \[3, 4\]/);
    expect(() =>
      clippedSurrogateLoss({ ...inputs, klEstimator: null as unknown as KlEstimator<tf.Tensor> }),
    ).toThrow(/klEstimator = null: must be/);
    tf.dispose(Object.values(inputs));
  });

  it('trains a 4-armed bandit policy past chance with the GRPO preset', () => {
    // Softmax policy over 4 arms; arm 2 pays 1, the others 0. Groups of 8 samples, group-normalized advantages.
    const random = new Random(42);
    const logits = tf.variable(tf.zeros([4]));
    const optimizer = tf.train.adam(0.1);
    const objective = createObjective({ preset: 'grpo', klCoefficient: 0 });
    for (let step = 0; step < 30; step++) {
      const probabilities = Array.from(tf.tidy(() => tf.softmax(logits)).dataSync());
      const arms = Array.from({ length: 8 }, () => random.categorical(probabilities));
      const rewards: number[] = arms.map((arm) => (arm === 2 ? 1 : 0));
      const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
      const sd = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / (rewards.length - 1));
      const advantages = tf.tensor1d(rewards.map((r) => (r - mean) / (sd + 1e-4)));
      const oldLogProbs = tf.tensor2d(arms.map((arm) => [Math.log(probabilities[arm]!)]));
      const lossMask = tf.ones([8, 1]);
      const armTensor = tf.tensor1d(arms, 'int32');
      optimizer.minimize(() => {
        const logProbs = tf.reshape(tf.gather(tf.logSoftmax(logits), armTensor), [8, 1]);
        return objective.compute({ logProbs, oldLogProbs, advantages, lossMask }).loss as tf.Scalar;
      });
      tf.dispose([advantages, oldLogProbs, lossMask, armTensor]);
    }
    const final = tf.tidy(() => tf.softmax(logits)).dataSync();
    expect(final[2]).toBeGreaterThan(0.8); // chance is 0.25
    logits.dispose();
  });
});
