import { initializeBackend, type WeightMap } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MlpCandidateActor } from './candidate-models';
import { candidateActorLoss } from './candidate-selector-actor-loss';

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

type Parameters = Record<string, { shape: number[]; data: number[] }>;

/** The same MLP and loss in float64, written as plain loops (an independent implementation). */
function referenceLoss(options: {
  parameters: Parameters;
  referenceParameters: Parameters;
  candidateFeatures: number[][][];
  chosen: number[];
  oldLogProbs: number[];
  advantages: number[];
  clipLow: number;
  clipHigh: number;
  klCoefficient: number;
}): number {
  const score = (parameters: Parameters, input: number[]): number => {
    let hidden = input;
    for (let layer = 0; `layers.${layer}.weight` in parameters; layer++) {
      const weight = parameters[`layers.${layer}.weight`]!;
      const bias = parameters[`layers.${layer}.bias`]!.data;
      const [inSize, outSize] = weight.shape as [number, number];
      const next = new Array<number>(outSize).fill(0);
      for (let out = 0; out < outSize; out++) {
        let sum = bias[out]!;
        for (let k = 0; k < inSize; k++) sum += hidden[k]! * weight.data[k * outSize + out]!;
        next[out] = sum;
      }
      const last = !(`layers.${layer + 1}.weight` in parameters);
      hidden = last ? next : next.map(Math.tanh);
    }
    return hidden[0]!;
  };
  const logSoftmax = (logits: number[]) => {
    const top = Math.max(...logits);
    const total = Math.log(logits.reduce((sum, value) => sum + Math.exp(value - top), 0)) + top;
    return logits.map((value) => value - total);
  };
  let surrogate = 0;
  let kl = 0;
  options.candidateFeatures.forEach((candidates, row) => {
    const logProbs = logSoftmax(candidates.map((x) => score(options.parameters, x)));
    const refLogProbs = logSoftmax(candidates.map((x) => score(options.referenceParameters, x)));
    const ratio = Math.exp(logProbs[options.chosen[row]!]! - options.oldLogProbs[row]!);
    const advantage = options.advantages[row]!;
    const clipped = Math.min(Math.max(ratio, 1 - options.clipLow), 1 + options.clipHigh);
    surrogate += -Math.min(ratio * advantage, clipped * advantage);
    kl += logProbs.reduce(
      (sum, logProb, k) => sum + Math.exp(logProb) * (logProb - refLogProbs[k]!),
      0,
    );
  });
  const size = options.candidateFeatures.length;
  return surrogate / size + (options.klCoefficient * kl) / size;
}

function toParameters(weights: WeightMap): Parameters {
  return Object.fromEntries(
    Object.entries(weights).map(([name, tensor]) => [
      name,
      { shape: [...tensor.shape], data: Array.from(tensor.data) },
    ]),
  );
}

function perturbed(weights: WeightMap, amount: (index: number) => number): WeightMap {
  return Object.fromEntries(
    Object.entries(weights).map(([name, tensor], offset) => [
      name,
      {
        shape: tensor.shape,
        data: Float32Array.from(tensor.data, (value, index) => value + amount(index + 7 * offset)),
      },
    ]),
  );
}

const candidateFeatures = [
  [
    [0.1, 0.5, -0.3],
    [0.7, -0.2, 0.4],
    [-0.5, 0.3, 0.9],
  ],
  [
    [0.2, -0.6, 0.1],
    [0.4, 0.4, 0.4],
    [0.9, 0.1, -0.7],
  ],
];

function setup() {
  const actor = new MlpCandidateActor({ featureSize: 3, hiddenSizes: [4], seed: 1 });
  // The last layer starts at zero; move every weight so that each one matters.
  actor.setWeights(perturbed(actor.getWeights(), (index) => 0.3 * Math.sin(index + 1)));
  const reference = actor.clone();
  reference.setWeights(perturbed(actor.getWeights(), (index) => -0.2 * Math.cos(index)));
  return { actor, reference };
}

describe('candidateActorLoss', () => {
  it('equals an independent float64 computation, in and out of the clip range', () => {
    const { actor, reference } = setup();
    const current = tf.logSoftmax(actor.logits(candidateFeatures)).arraySync() as number[][];
    const chosen = [1, 2];
    // Row 0 inside the clip range; row 1 far outside it (ratio e^0.6 > 1.2 with A > 0: clipped).
    const cases = [
      { old: [current[0]![1]! + 0.05, current[1]![2]! - 0.6], advantages: [1.3, 0.7] },
      { old: [current[0]![1]! - 0.5, current[1]![2]! + 0.5], advantages: [-0.4, -2] },
    ];
    for (const { old, advantages } of cases) {
      const referenceLogits = reference.logits(candidateFeatures);
      const result = candidateActorLoss({
        actor,
        candidateFeatures,
        chosenIndices: tf.tensor1d(chosen, 'int32'),
        oldLogProbs: tf.tensor2d(old, [2, 1]),
        advantages: tf.tensor1d(advantages),
        referenceLogits,
        clipLow: 0.2,
        clipHigh: 0.28,
        klCoefficient: 0.5,
      });
      const expected = referenceLoss({
        parameters: toParameters(actor.getWeights()),
        referenceParameters: toParameters(reference.getWeights()),
        candidateFeatures,
        chosen,
        oldLogProbs: old,
        advantages,
        clipLow: 0.2,
        clipHigh: 0.28,
        klCoefficient: 0.5,
      });
      expect(result.loss.dataSync()[0]).toBeCloseTo(expected, 5);
      expect(result.klToInitial).toBeGreaterThan(0);
    }
  });

  it('has the gradient of the float64 loss (central finite differences)', () => {
    const { actor, reference } = setup();
    const current = tf.logSoftmax(actor.logits(candidateFeatures)).arraySync() as number[][];
    const chosen = [1, 2];
    // Ratios inside the clip range keep the loss smooth around the point.
    const old = [current[0]![1]! + 0.05, current[1]![2]! - 0.05];
    const advantages = [1.3, -0.7];
    const settings = { clipLow: 0.2, clipHigh: 0.2, klCoefficient: 0.5 };
    const referenceLogits = reference.logits(candidateFeatures);
    const { grads } = tf.variableGrads(
      () =>
        candidateActorLoss({
          actor,
          candidateFeatures,
          chosenIndices: tf.tensor1d(chosen, 'int32'),
          oldLogProbs: tf.tensor2d(old, [2, 1]),
          advantages: tf.tensor1d(advantages),
          referenceLogits,
          ...settings,
        }).loss,
      [...actor.trainableVariables()],
    );
    const parameters = toParameters(actor.getWeights());
    const referenceParameters = toParameters(reference.getWeights());
    const named = actor.namedVariables();
    const epsilon = 1e-6;
    let checked = 0;
    for (const [name, parameter] of Object.entries(parameters)) {
      const analytic = grads[named[name]!.name]!.dataSync();
      for (let index = 0; index < parameter.data.length; index++) {
        const at = (delta: number) => {
          const copy = structuredClone(parameters);
          copy[name]!.data[index]! += delta;
          return referenceLoss({
            parameters: copy,
            referenceParameters,
            candidateFeatures,
            chosen,
            oldLogProbs: old,
            advantages,
            ...settings,
          });
        };
        const numeric = (at(epsilon) - at(-epsilon)) / (2 * epsilon);
        expect(Math.abs(analytic[index]! - numeric)).toBeLessThan(1e-4 + 1e-3 * Math.abs(numeric));
        checked++;
      }
    }
    expect(checked).toBe(3 * 4 + 4 + 4 + 1);
  });

  it('passes no policy gradient through a clipped ratio (only the KL term remains)', () => {
    const { actor } = setup();
    const current = tf.logSoftmax(actor.logits(candidateFeatures)).arraySync() as number[][];
    // Ratios e^1 > 1.2 with positive advantages: both clipped, and beta = 0.
    const { grads, value } = tf.variableGrads(
      () =>
        candidateActorLoss({
          actor,
          candidateFeatures,
          chosenIndices: tf.tensor1d([0, 0], 'int32'),
          oldLogProbs: tf.tensor2d([current[0]![0]! - 1, current[1]![0]! - 1], [2, 1]),
          advantages: tf.tensor1d([1, 2]),
          referenceLogits: actor.logits(candidateFeatures),
          clipLow: 0.2,
          clipHigh: 0.2,
          klCoefficient: 0,
        }).loss,
      [...actor.trainableVariables()],
    );
    expect(value.dataSync()[0]).toBeCloseTo(-(1.2 * 1 + 1.2 * 2) / 2, 5);
    for (const gradient of Object.values(grads)) {
      expect(Math.max(...Array.from(gradient.dataSync(), Math.abs))).toBeLessThan(1e-7);
    }
  });
});
