import { type Featurizer, NonFiniteError, Random, type Transition } from '@cohort/core';
import { initializeBackend } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MlpCandidateActor, MlpRewardCritic } from './candidate-models';
import { type CandidateGenerator, CandidateSelectorTrainer } from './candidate-selector-trainer';
import { createGproOptimizer, gproActorLoss } from './gpro-optimizer';

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

const dimension = 24;

/** A real featurizer: hashed bag of words, L2-normalized. */
const bagOfWords: Featurizer = {
  name: 'hashed-bag-of-words',
  dimension,
  async featurize(texts) {
    return texts.map((text) => {
      const vector = new Array<number>(dimension).fill(0);
      for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
        let hash = 7;
        for (const character of word) hash = (hash * 31 + character.charCodeAt(0)) % 1_000_003;
        vector[hash % dimension]! += 1;
      }
      const norm = Math.hypot(...vector) || 1;
      return vector.map((value) => value / norm);
    });
  },
};

/** Four candidates drawn from a bank of replies of known quality. */
const bank = [
  'I issued a refund for your order today.',
  'A refund for the order is on its way.',
  'Your order refund is approved.',
  'Please wait while I check.',
  'I cannot help with that.',
  'Have a nice day.',
  'Try turning it off and on.',
  'Thanks for writing in.',
];
const generator: CandidateGenerator = {
  async propose({ count, seed }) {
    const random = new Random(seed);
    const good = bank.slice(0, 3);
    const bad = bank.slice(3);
    // Exactly one good reply among the K, at a random position: chance picks it 1 time in K.
    const candidates = random.sample(bad, count - 1);
    candidates.splice(random.int(0, count), 0, random.choice(good));
    return candidates;
  },
};
const reward = ({ response }: { response: string }) =>
  (/refund/.test(response) ? 1 : 0) + (/order/.test(response) ? 0.5 : 0);
const queries = Array.from({ length: 8 }, (_, index) => ({
  prompt: 'support',
  query: `question ${index}`,
}));

function makeTrainer(advantage: 'group' | 'critic', seed: number) {
  const actor = new MlpCandidateActor({ featureSize: dimension, hiddenSizes: [16], seed });
  const critic = new MlpRewardCritic({ featureSize: dimension, hiddenSizes: [16], seed: seed + 1 });
  const updates: { criticLoss: number; applied: boolean }[] = [];
  const trainer = new CandidateSelectorTrainer({
    generator,
    featurizer: bagOfWords,
    actor,
    critic,
    optimizer: createGproOptimizer({ advantage, epochs: 4, klCoefficient: 0.001 }),
    reward,
    candidateCount: 4,
    updateEvery: 32,
    repeatsPerQuery: 4,
    seed,
    onEvent: (event) => {
      if (event.type === 'update') updates.push(event);
    },
  });
  return { trainer, updates, actor, critic };
}

describe('candidate selector (GPRO actor-critic)', () => {
  it.each(['group', 'critic'] as const)(
    'learns to choose the best of K candidates (%s advantages)',
    async (advantage) => {
      const { trainer, updates } = makeTrainer(advantage, 3);
      const held = Array.from({ length: 24 }, (_, index) => ({
        prompt: 'support',
        query: `held ${index}`,
      }));
      const before = await trainer.evaluate(held);
      for (let round = 0; round < 12; round++) await trainer.step(queries);
      const after = await trainer.evaluate(held);
      // The initial actor is uniform (zero last layer): the greedy pick is the first candidate,
      // right 1 time in 4 by construction. Chance over 24 queries would not reach 0.8.
      expect(before.bestChoiceRate).toBeLessThan(0.5);
      expect(after.bestChoiceRate).toBeGreaterThanOrEqual(0.8);
      expect(after.meanReward).toBeGreaterThan(before.meanReward + 0.5);
      expect(updates.every((update) => update.applied)).toBe(true);
      const firstLoss = updates[0]!.criticLoss;
      const lastLoss = updates.at(-1)!.criticLoss;
      expect(lastLoss).toBeLessThan(firstLoss / 2);
    },
  );

  it('matches finite differences for the gradient of the actor loss', async () => {
    const actor = new MlpCandidateActor({ featureSize: 3, hiddenSizes: [4], seed: 1 });
    // Move the zero-initialized last layer so that every weight matters.
    actor.setWeights(
      Object.fromEntries(
        Object.entries(actor.getWeights()).map(([name, tensor]) => [
          name,
          {
            shape: tensor.shape,
            data: tensor.data.map((value, index) => value + 0.3 * Math.sin(index + 1)),
          },
        ]),
      ),
    );
    const reference = actor.clone();
    reference.setWeights(
      Object.fromEntries(
        Object.entries(actor.getWeights()).map(([name, tensor]) => [
          name,
          {
            shape: tensor.shape,
            data: tensor.data.map((value, index) => value - 0.2 * Math.cos(index)),
          },
        ]),
      ),
    );
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
    const chosen = tf.oneHot(tf.tensor1d([1, 2], 'int32'), 3);
    const referenceLogits = reference.logits(candidateFeatures);
    const current = tf.logSoftmax(actor.logits(candidateFeatures)).arraySync() as number[][];
    // Behavior log-probs near the current ones keep the ratios inside the clip range (no kinks).
    const oldLogProbs = tf.tensor2d([[current[0]![1]! + 0.05], [current[1]![2]! - 0.05]]);
    const advantages = tf.tensor1d([1.3, -0.7]);
    const loss = () =>
      gproActorLoss({
        actor,
        candidateFeatures,
        chosen,
        oldLogProbs,
        advantages,
        referenceLogits,
        clipLow: 0.2,
        clipHigh: 0.2,
        klCoefficient: 0.5,
      }).loss;
    const variables = actor.namedVariables();
    const { grads } = tf.variableGrads(loss, Object.values(variables));
    const epsilon = 1e-2;
    for (const variable of Object.values(variables)) {
      const analytic = grads[variable.name]!.dataSync();
      const values = variable.dataSync().slice();
      for (let index = 0; index < values.length; index++) {
        const shifted = (delta: number) => {
          const copy = values.slice();
          copy[index]! += delta;
          variable.assign(tf.tensor(copy, variable.shape));
          return loss().dataSync()[0]!;
        };
        const numeric = (shifted(epsilon) - shifted(-epsilon)) / (2 * epsilon);
        variable.assign(tf.tensor(values, variable.shape));
        expect(Math.abs(numeric - analytic[index]!)).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
      }
    }
  });

  it('refuses a NaN reward with an error naming the transition, before any weight changes', async () => {
    const { actor, critic } = makeTrainer('group', 5);
    const before = actor.getWeights();
    const transition: Transition = {
      prompt: 'p',
      query: 'q',
      candidates: ['a', 'b'],
      chosenIndex: 0,
      reward: Number.NaN,
      behaviorLogProb: Math.log(0.5),
      candidateFeatures: [new Array(dimension).fill(0.1), new Array(dimension).fill(0.2)],
    };
    const optimizer = createGproOptimizer();
    await expect(optimizer.update([transition], actor, critic)).rejects.toSatisfy(
      (error) =>
        NonFiniteError.isInstance(error) && /batch\[0\]\.reward/.test((error as Error).message),
    );
    expect(actor.getWeights()).toEqual(before);
  });

  it('keeps the tensor count flat over many updates', async () => {
    const { trainer } = makeTrainer('critic', 6);
    await trainer.step(queries);
    const count = tf.memory().numTensors;
    for (let round = 0; round < 4; round++) await trainer.step(queries);
    expect(tf.memory().numTensors).toBe(count);
  });
});
