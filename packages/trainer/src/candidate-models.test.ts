import { InvalidArgumentError, NonFiniteError, ValidationError } from '@cohort/core';
import { initializeBackend } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MlpCandidateActor, MlpRewardCritic } from './candidate-models';

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

const features = [
  [
    [0.1, 0.2, 0.3],
    [-0.4, 0.5, 0.6],
  ],
  [
    [0.7, -0.8, 0.9],
    [1, 1, -1],
  ],
];

describe('MlpCandidateActor', () => {
  it('starts uniform over the candidates, for any K', () => {
    const actor = new MlpCandidateActor({ featureSize: 3, seed: 2 });
    const logits = actor.logits(features);
    expect(logits.shape).toEqual([2, 2]);
    const probabilities = tf.softmax(logits).arraySync() as number[][];
    for (const row of probabilities) for (const p of row) expect(p).toBeCloseTo(0.5, 6);
    expect(actor.logits([[[0, 0, 1]]]).shape).toEqual([1, 1]);
    expect(actor.logits([]).shape).toEqual([0, 0]);
  });

  it('scores each candidate by itself: the logits are the MLP applied to each row (hand-computed linear case)', () => {
    const actor = new MlpCandidateActor({ featureSize: 3, hiddenSizes: [] });
    actor.setWeights({
      'layers.0.weight': { shape: [3, 1], data: Float32Array.from([1, -2, 0.5]) },
      'layers.0.bias': { shape: [1], data: Float32Array.from([0.25]) },
    });
    const logits = actor.logits(features).arraySync() as number[][];
    const expected = features.map((row) => row.map(([a, b, c]) => a! - 2 * b! + 0.5 * c! + 0.25));
    logits.forEach((row, i) => {
      row.forEach((value, k) => {
        expect(value).toBeCloseTo(expected[i]![k]!, 6);
      });
    });
  });

  it('clones into independent variables with the same weights', () => {
    const actor = new MlpCandidateActor({ featureSize: 3, seed: 4 });
    const weights = actor.getWeights();
    actor.setWeights(
      Object.fromEntries(
        Object.entries(weights).map(([name, tensor]) => [
          name,
          { shape: tensor.shape, data: tensor.data.map((value, index) => value + 0.1 * index) },
        ]),
      ),
    );
    const copy = actor.clone();
    expect(copy.logits(features).arraySync()).toEqual(actor.logits(features).arraySync());
    actor.setWeights(weights);
    expect(copy.logits(features).arraySync()).not.toEqual(actor.logits(features).arraySync());
    expect(copy.trainableVariables()[0]).not.toBe(actor.trainableVariables()[0]);
  });

  it('names ragged, mis-sized and non-finite (in float32) features', () => {
    const actor = new MlpCandidateActor({ featureSize: 3 });
    expect(() => actor.logits([features[0]!, [features[1]![0]!]])).toThrow(
      /candidateFeatures\[1\]\.length = 1/,
    );
    expect(() => actor.logits([[[1, 2]]])).toThrow(InvalidArgumentError);
    expect(() => actor.logits([[[1, 2]]])).toThrow(/candidateFeatures\[0\]\[0\]\.length = 2/);
    expect(() => actor.logits([[[0, Number.NaN, 0]]])).toThrow(NonFiniteError);
    // 1e39 is a finite double but Infinity in float32.
    expect(() => actor.logits([[[0, 0, 1e39]]])).toThrow(/candidateFeatures\[0\]\[0\]\[2\]/);
  });

  it('validates its options', () => {
    expect(() => new MlpCandidateActor({ featureSize: 0 })).toThrow(ValidationError);
    expect(() => new MlpCandidateActor({ featureSize: 0 })).toThrow(/featureSize/);
    expect(() => new MlpRewardCritic({ featureSize: 3, hiddenSizes: [-1] })).toThrow(/hiddenSizes/);
  });
});

describe('MlpRewardCritic', () => {
  it('predicts one value per feature row, matching a hand-computed linear critic', () => {
    const critic = new MlpRewardCritic({ featureSize: 2, hiddenSizes: [] });
    critic.setWeights({
      'layers.0.weight': { shape: [2, 1], data: Float32Array.from([2, -1]) },
      'layers.0.bias': { shape: [1], data: Float32Array.from([0.5]) },
    });
    const predicted = critic.predict([
      [1, 1],
      [0, 3],
      [-1, 0],
    ]);
    expect(predicted.shape).toEqual([3]);
    const values = Array.from(predicted.dataSync());
    [1.5, -2.5, -1.5].forEach((value, index) => {
      expect(values[index]).toBeCloseTo(value, 6);
    });
    expect(
      critic
        .clone()
        .predict([[1, 1]])
        .dataSync()[0],
    ).toBeCloseTo(1.5, 6);
    expect(() => critic.predict([[1]])).toThrow(/features\[0\]\[0\]\.length = 1/);
  });

  it('does not leak tensors', () => {
    const critic = new MlpRewardCritic({ featureSize: 3 });
    const actor = new MlpCandidateActor({ featureSize: 3 });
    const count = tf.memory().numTensors;
    for (let round = 0; round < 5; round++) {
      tf.dispose([critic.predict([[1, 2, 3]]), actor.logits(features)]);
    }
    const copy = actor.clone();
    copy.dispose();
    expect(tf.memory().numTensors).toBe(count);
  });
});
