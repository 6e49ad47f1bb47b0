import {
  InvalidArgumentError,
  NonFiniteError,
  Random,
  type Transition,
  ValidationError,
} from '@cohort/core';
import { createOptimizer, initializeBackend, type WeightMap } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MlpCandidateActor, MlpRewardCritic } from './candidate-models';
import { createCandidateUpdateRule } from './candidate-selector-update-rule';
import type { PolicyOptimizer } from './trainable-policy';

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

const featureSize = 6;

/** A batch of `groups` queries, each answered `size` times; the reward is the chosen candidate's first feature. */
function batchOf(seed: number, groups = 4, size = 4, count = 3): Transition[] {
  const random = new Random(seed);
  const transitions: Transition[] = [];
  for (let group = 0; group < groups; group++) {
    const candidateFeatures = Array.from({ length: count }, () =>
      Array.from({ length: featureSize }, () => random.uniform(-1, 1)),
    );
    for (let member = 0; member < size; member++) {
      const chosenIndex = random.int(0, count);
      transitions.push({
        prompt: 'p',
        query: `q${group}`,
        candidates: candidateFeatures.map((_, index) => `c${index}`),
        chosenIndex,
        reward: candidateFeatures[chosenIndex]![0]!,
        behaviorLogProb: Math.log(1 / count),
        candidateFeatures,
        groupId: `g${group}`,
      });
    }
  }
  return transitions;
}

function models(seed = 1) {
  return {
    actor: new MlpCandidateActor({ featureSize, hiddenSizes: [8], seed }),
    critic: new MlpRewardCritic({ featureSize, hiddenSizes: [8], seed: seed + 1 }),
  };
}

function probabilities(actor: MlpCandidateActor, features: number[][]): number[] {
  return tf.tidy(() => Array.from(tf.softmax(actor.logits([features])).dataSync()));
}

function klRows(actor: MlpCandidateActor, reference: MlpCandidateActor, batch: Transition[]) {
  const rows = batch.map((transition) => transition.candidateFeatures);
  const p = tf.tidy(() => tf.softmax(actor.logits(rows)).arraySync() as number[][]);
  const q = tf.tidy(() => tf.softmax(reference.logits(rows)).arraySync() as number[][]);
  const kl = p.map((row, i) => row.reduce((sum, pk, k) => sum + pk * Math.log(pk / q[i]![k]!), 0));
  return kl.reduce((sum, value) => sum + value, 0) / kl.length;
}

function faultyOptimizer(actor: MlpCandidateActor, failOnCall: number) {
  const inner = createOptimizer({
    type: 'adam',
    learningRate: 1e-2,
    variables: actor.namedVariables(),
  });
  let calls = 0;
  // A real Adam whose gradients turn to NaN on one call, as an overflow would make them.
  const updateRule: PolicyOptimizer = {
    applyGradients(gradients) {
      calls++;
      if (calls !== failOnCall) return inner.applyGradients(gradients);
      const poisoned = tf.tidy(() =>
        Object.fromEntries(
          Object.entries(gradients).map(([name, gradient]) => [name, gradient.mul(Number.NaN)]),
        ),
      );
      const result = inner.applyGradients(poisoned);
      tf.dispose(Object.values(poisoned));
      return result;
    },
    getState: () => inner.getState(),
    setState: (state) => inner.setState(state as never),
  };
  return { updateRule, inner };
}

const sameWeights = (a: WeightMap, b: WeightMap) =>
  expect(Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Array.from(v.data)]))).toEqual(
    Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Array.from(v.data)])),
  );

describe('ClippedCandidateUpdateRule', () => {
  it('raises the probability of candidates with positive advantage and lowers the others', async () => {
    const { actor, critic } = models();
    const features = batchOf(2)[0]!.candidateFeatures;
    const base = {
      prompt: 'p',
      query: 'q',
      candidates: ['a', 'b', 'c'],
      candidateFeatures: features,
    };
    const batch: Transition[] = [
      { ...base, chosenIndex: 0, reward: 1, behaviorLogProb: Math.log(1 / 3), groupId: 'g' },
      { ...base, chosenIndex: 1, reward: 0, behaviorLogProb: Math.log(1 / 3), groupId: 'g' },
    ];
    const before = probabilities(actor, features);
    const result = await createCandidateUpdateRule({ epochs: 4 }).update(batch, actor, critic);
    const after = probabilities(actor, features);
    expect(result.applied).toBe(true);
    expect(after[0]).toBeGreaterThan(before[0]! + 0.01);
    expect(after[1]).toBeLessThan(before[1]! - 0.01);
    expect(result.metrics.meanAdvantage).toBeCloseTo(0, 10);
    expect(result.metrics.meanAbsoluteAdvantage).toBeCloseTo(0.5 / (Math.SQRT1_2 + 1e-4), 6);
  });

  it('reports the exact KL to the initial actor after the update', async () => {
    const { actor, critic } = models(3);
    const reference = actor.clone();
    const updateRule = createCandidateUpdateRule({ epochs: 3 });
    const batch = batchOf(4);
    let result = await updateRule.update(batch, actor, critic);
    result = await updateRule.update(batch, actor, critic);
    expect(result.metrics.klToInitial).toBeGreaterThan(1e-4);
    expect(result.metrics.klToInitial).toBeCloseTo(klRows(actor, reference, batch), 5);
    expect(updateRule.updates).toBe(2);
  });

  it('holds the actor closer to its initial copy as beta grows', async () => {
    const klAfter = async (klCoefficient: number) => {
      const { actor, critic } = models(5);
      const updateRule = createCandidateUpdateRule({ klCoefficient, epochs: 4 });
      let result = await updateRule.update(batchOf(6), actor, critic);
      for (let round = 0; round < 5; round++)
        result = await updateRule.update(batchOf(6), actor, critic);
      return result.metrics.klToInitial!;
    };
    const free = await klAfter(0);
    const held = await klAfter(5);
    expect(free).toBeGreaterThan(0.05);
    expect(held).toBeLessThan(free / 3);
  });

  it('fits the critic to the rewards (mean squared error falls)', async () => {
    const { actor, critic } = models(7);
    const updateRule = createCandidateUpdateRule({ advantage: 'critic', epochs: 4 });
    const batch = batchOf(8, 8, 4);
    const first = await updateRule.update(batch, actor, critic);
    let last = first;
    for (let round = 0; round < 15; round++) last = await updateRule.update(batch, actor, critic);
    // Independent check of the reported loss: mean (V(x) - r)^2 over the chosen features.
    const predicted = critic.predict(
      batch.map((transition) => transition.candidateFeatures[transition.chosenIndex]!),
    );
    const values = Array.from(predicted.dataSync());
    predicted.dispose();
    const mse =
      values.reduce((sum, value, index) => sum + (value - batch[index]!.reward) ** 2, 0) /
      values.length;
    expect(last.criticLoss).toBeLessThan(first.criticLoss / 5);
    expect(mse).toBeLessThanOrEqual(last.criticLoss * 1.01);
  });

  it('refuses a NaN reward with a NonFiniteError naming it, before anything changes', async () => {
    const { actor, critic } = models(9);
    const before = actor.getWeights();
    const batch = batchOf(10);
    batch[5] = { ...batch[5]!, reward: Number.NaN };
    const updateRule = createCandidateUpdateRule();
    await expect(updateRule.update(batch, actor, critic)).rejects.toSatisfy(
      (error) =>
        NonFiniteError.isInstance(error) && /batch\[5\]\.reward is NaN/.test(String(error)),
    );
    sameWeights(actor.getWeights(), before);
    expect(updateRule.updates).toBe(0);
  });

  it('puts the actor, the critic and both optimizers back when a later epoch has a NaN gradient', async () => {
    const { actor, critic } = models(11);
    const { updateRule: actorOptimizer, inner } = faultyOptimizer(actor, 2);
    const criticOptimizer = createOptimizer({
      type: 'adam',
      learningRate: 1e-2,
      variables: critic.namedVariables(),
    });
    const updateRule = createCandidateUpdateRule(
      { epochs: 3 },
      { actorOptimizer, criticOptimizer },
    );
    const actorBefore = actor.getWeights();
    const criticBefore = critic.getWeights();
    const result = await updateRule.update(batchOf(12), actor, critic);
    expect(result.applied).toBe(false);
    expect(result.skipReason).toMatch(/actor gradient norm NaN at epoch 1/);
    // Epoch 0 had moved both networks; the rollback undid it.
    sameWeights(actor.getWeights(), actorBefore);
    sameWeights(critic.getWeights(), criticBefore);
    expect(inner.updateCount).toBe(0);
    expect(criticOptimizer.updateCount).toBe(0);
    expect(updateRule.updates).toBe(0);
    // The next batch trains normally.
    const next = await updateRule.update(batchOf(13), actor, critic);
    expect(next.applied).toBe(true);
    expect(inner.updateCount).toBe(3);
    expect(criticOptimizer.updateCount).toBe(3);
  });

  it('skips the update when the critic predicts a non-finite value (critic advantages)', async () => {
    const { actor, critic } = models(14);
    const broken = Object.fromEntries(
      Object.entries(critic.getWeights()).map(([name, tensor]) => [
        name,
        { shape: tensor.shape, data: tensor.data.map(() => Number.NaN) },
      ]),
    );
    critic.setWeights(broken);
    const before = actor.getWeights();
    const result = await createCandidateUpdateRule({ advantage: 'critic' }).update(
      batchOf(15),
      actor,
      critic,
    );
    expect(result.applied).toBe(false);
    expect(result.skipReason).toMatch(/critic predicted NaN for batch\[0\]/);
    sameWeights(actor.getWeights(), before);
  });

  it('uses the optimizers it is given', async () => {
    const { actor, critic } = models(16);
    const actorOptimizer = createOptimizer({
      type: 'adamw',
      learningRate: 5e-2,
      weightDecay: 0.01,
      variables: actor.namedVariables(),
    });
    const criticOptimizer = createOptimizer({
      type: 'adam',
      learningRate: 5e-2,
      variables: critic.namedVariables(),
    });
    const updateRule = createCandidateUpdateRule(
      { epochs: 2 },
      { actorOptimizer, criticOptimizer },
    );
    await updateRule.update(batchOf(17), actor, critic);
    expect(actorOptimizer.updateCount).toBe(2);
    expect(criticOptimizer.updateCount).toBe(2);
  });

  it('names bad options, bad transitions and a swapped actor', async () => {
    expect(() => createCandidateUpdateRule({ epochs: 0 })).toThrow(ValidationError);
    expect(() => createCandidateUpdateRule({ epochs: 0 })).toThrow(/epochs/);
    expect(() => createCandidateUpdateRule({ clipLow: 1 })).toThrow(/clipLow/);
    expect(() => createCandidateUpdateRule({ advantage: 'value' as never })).toThrow(/advantage/);
    const { actor, critic } = models(18);
    const updateRule = createCandidateUpdateRule();
    await expect(updateRule.update([], actor, critic)).rejects.toThrow(InvalidArgumentError);
    const batch = batchOf(19);
    const cases: [Partial<Transition>, RegExp][] = [
      [{ chosenIndex: 3 }, /batch\[2\]\.chosenIndex = 3/],
      [{ behaviorLogProb: 0.5 }, /batch\[2\]\.behaviorLogProb = 0\.5/],
      [{ behaviorLogProb: Number.NaN }, /batch\[2\]\.behaviorLogProb is NaN/],
      [
        { candidateFeatures: batch[0]!.candidateFeatures.slice(0, 2) },
        /batch\[2\]\.candidateFeatures\.length = 2/,
      ],
    ];
    for (const [change, message] of cases) {
      const broken = batch.map((transition, index) =>
        index === 2 ? { ...transition, ...change } : transition,
      );
      await expect(updateRule.update(broken, actor, critic)).rejects.toThrow(message);
    }
    await updateRule.update(batch, actor, critic);
    await expect(updateRule.update(batch, models(20).actor, critic)).rejects.toThrow(
      /Invalid argument actor/,
    );
  });
});
