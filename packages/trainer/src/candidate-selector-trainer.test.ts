import { InvalidArgumentError, Random, ValidationError } from '@cohort/core';
import { keywordReward } from '@cohort/environments';
import { initializeBackend } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHashingFeaturizer } from './candidate-hashing-featurizer';
import { MlpCandidateActor, MlpRewardCritic } from './candidate-models';
import {
  type CandidateQuery,
  type CandidateRewardSource,
  candidateRewardFromFunction,
} from './candidate-reward';
import {
  type CandidateGenerator,
  type CandidateSelectorEvent,
  CandidateSelectorTrainer,
} from './candidate-selector-trainer';
import { createCandidateUpdateRule } from './candidate-selector-update-rule';
import type { CandidateUpdateRuleOptionsInput } from './candidate-selector-update-rule-options';

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

const dimension = 64;
const featurizer = createHashingFeaturizer({ dimension });

/** Replies of known quality: the first three answer a refund request, the rest do not. */
const goodReplies = [
  'I issued a refund for your order today.',
  'A refund for the order is on its way.',
  'Your order refund is approved.',
];
const badReplies = [
  'Please wait while I check.',
  'I cannot help with that.',
  'Have a nice day.',
  'Try turning it off and on.',
  'Thanks for writing in.',
];

/**
 * A frozen candidate source over a fixed bank: exactly one good reply among the
 * K, at a seeded position, so a uniformly random choice is best 1 time in K.
 */
const generator: CandidateGenerator = {
  async propose({ count, seed }) {
    const random = new Random(seed);
    const candidates = random.sample(badReplies, count - 1);
    candidates.splice(random.int(0, count), 0, random.choice(goodReplies));
    return candidates;
  },
};

/** A real reward of @cohort/environments: mentions of "refund" and "order", minus "cannot". */
const reward = candidateRewardFromFunction(
  keywordReward({ required: ['refund', 'order'], forbidden: ['cannot'] }),
);

const trainingQueries: CandidateQuery[] = Array.from({ length: 8 }, (_, index) => ({
  prompt: 'You are a support agent.',
  query: `Where is my refund for order ${index}?`,
}));
const heldOutQueries: CandidateQuery[] = Array.from({ length: 40 }, (_, index) => ({
  prompt: 'You are a support agent.',
  query: `I want my money back, ticket ${index}.`,
}));

function makeTrainer(options: {
  seed: number;
  updateRule?: CandidateUpdateRuleOptionsInput;
  reward?: CandidateRewardSource;
  samplesPerQuery?: number;
  updateEvery?: number;
}) {
  const actor = new MlpCandidateActor({
    featureSize: dimension,
    hiddenSizes: [16],
    seed: options.seed,
  });
  const critic = new MlpRewardCritic({
    featureSize: dimension,
    hiddenSizes: [16],
    seed: options.seed + 1,
  });
  const events: CandidateSelectorEvent[] = [];
  const trainer = new CandidateSelectorTrainer({
    generator,
    featurizer,
    actor,
    critic,
    updateRule: createCandidateUpdateRule({
      epochs: 4,
      klCoefficient: 0.001,
      ...options.updateRule,
    }),
    reward: options.reward ?? reward,
    candidateCount: 4,
    updateEvery: options.updateEvery ?? 32,
    samplesPerQuery: options.samplesPerQuery ?? 4,
    seed: options.seed,
    onEvent: (event) => events.push(event),
  });
  const updates = () =>
    events.flatMap((event) => (event.type === 'update' ? [event] : ([] as never[])));
  return { trainer, actor, critic, events, updates };
}

describe('CandidateSelectorTrainer', () => {
  it.each([
    ['group advantages', { advantage: 'group' }, 3],
    ['critic advantages', { advantage: 'critic' }, 4],
    ['whitened critic advantages', { advantage: 'critic', criticNormalization: 'whiten' }, 4],
  ] as const)('learns to choose the best of K = 4 candidates (%s)', async (_, updateRule, seed) => {
    const { trainer, updates } = makeTrainer({ seed, updateRule });
    const before = await trainer.evaluate(heldOutQueries);
    // One good reply in four: chance picks the best a quarter of the time.
    expect(before.chanceBestChoiceRate).toBeCloseTo(0.25, 10);
    expect(before.bestChoiceRate).toBeLessThan(0.45);
    for (let round = 0; round < 12; round++) await trainer.step(trainingQueries);
    const after = await trainer.evaluate(heldOutQueries);
    // 40 held-out queries: a chance-level picker reaches 0.8 with probability < 1e-12.
    expect(after.bestChoiceRate).toBeGreaterThanOrEqual(0.8);
    expect(after.meanReward).toBeGreaterThan(before.meanReward + 0.4);
    expect(after.evaluated).toBe(40);
    const log = updates();
    expect(log.length).toBe(12);
    expect(log.every((update) => update.applied)).toBe(true);
    // The critic's squared error on fresh batches falls.
    const early = (log[0]!.criticLoss + log[1]!.criticLoss) / 2;
    const late = (log.at(-1)!.criticLoss + log.at(-2)!.criticLoss) / 2;
    expect(late).toBeLessThan(early / 4);
    // The actor moved away from its (uniform) initial copy; ln 4 = 1.386 would be deterministic.
    expect(log.at(-1)!.metrics.klToInitial).toBeGreaterThan(0.3);
    for (const name of ['meanReward', 'clipFraction', 'meanAdvantage', 'klToInitial']) {
      expect(Number.isFinite(log.at(-1)!.metrics[name])).toBe(true);
    }
    // The sampled (not only the greedy) choices improve: mean training reward of the batches.
    const reward = (index: number) => log.at(index)!.metrics.meanReward!;
    expect((reward(-1) + reward(-2)) / 2).toBeGreaterThan((reward(0) + reward(1)) / 2 + 0.4);
  });

  it('takes late human feedback through decide/record, in any order', async () => {
    const { trainer, events } = makeTrainer({ seed: 5, updateRule: { advantage: 'critic' } });
    // A "person" who answers after a delay that depends on the reply, so answers arrive out of order.
    const person = (response: string) =>
      new Promise<number>((resolve) =>
        setTimeout(() => resolve(/refund/.test(response) ? 1 : 0), response.length % 7),
      );
    const decisions = (
      await Promise.all(trainingQueries.map((query) => trainer.decide(query)))
    ).flat();
    expect(decisions).toHaveLength(8);
    const pending = decisions.map(async (decision) =>
      trainer.record(decision, await person(decision.response)),
    );
    await Promise.all(pending);
    const transitions = events.flatMap((event) =>
      event.type === 'transition' ? [event.transition] : [],
    );
    expect(transitions).toHaveLength(8);
    for (const transition of transitions) {
      const expected = /refund/.test(transition.candidates[transition.chosenIndex]!) ? 1 : 0;
      expect(transition.reward).toBe(expected);
    }
    expect(trainer.pending).toBe(8);
    const result = await trainer.flush();
    expect(result?.applied).toBe(true);
    expect(trainer.updates).toBe(1);
    expect(await trainer.flush()).toBeUndefined();
  });

  it('skips and reports NaN, null and failing rewards, and keeps training on the rest', async () => {
    let calls = 0;
    const flaky: CandidateRewardSource = async (input) => {
      calls++;
      if (calls % 5 === 0) return Number.NaN;
      if (calls % 7 === 0) return null;
      if (calls % 11 === 0) throw new Error('the rater closed the tab');
      return reward(input);
    };
    const { trainer, events, updates } = makeTrainer({ seed: 6, reward: flaky });
    const summary = await trainer.step(trainingQueries);
    const skipped = events.flatMap((event) => (event.type === 'skipped' ? [event] : []));
    const reasons = skipped.map((event) => event.reason).sort();
    expect(new Set(reasons)).toEqual(new Set(['non-finite-reward', 'null-reward', 'reward-error']));
    expect(skipped.find((event) => event.reason === 'non-finite-reward')!.detail).toBeNaN();
    expect(String(skipped.find((event) => event.reason === 'reward-error')!.detail)).toMatch(
      /closed the tab/,
    );
    expect(summary.decisions).toBe(32);
    expect(summary.skipped).toBe(skipped.length);
    expect(trainer.pending + (updates()[0]?.metrics.batchSize ?? 0)).toBe(32 - skipped.length);
    expect(Number.isFinite(summary.meanReward)).toBe(true);
  });

  it('skips decisions whose feedback comes too many updates late', async () => {
    const { trainer, events } = makeTrainer({ seed: 7, updateEvery: 4 });
    const [old] = await trainer.decide(trainingQueries[0]!);
    await trainer.step(trainingQueries.slice(0, 2)); // two updates of 4 decisions each
    expect(trainer.updates).toBe(2);
    await trainer.record(old!, 1);
    const last = events.at(-1)!;
    expect(last.type === 'skipped' && last.reason).toBe('stale');
    expect(trainer.pending).toBe(0);
  });

  it('evaluates greedy choices against chance on hand-countable candidates', async () => {
    const fixed: CandidateGenerator = {
      async propose() {
        return ['refund order', 'refund', 'nothing', 'refund order'];
      },
    };
    const actor = new MlpCandidateActor({ featureSize: dimension, seed: 1 });
    const trainer = new CandidateSelectorTrainer({
      generator: fixed,
      featurizer,
      actor,
      critic: new MlpRewardCritic({ featureSize: dimension }),
      updateRule: createCandidateUpdateRule(),
      reward,
      candidateCount: 4,
    });
    // Rewards 1, 0.5, 0, 1: the uniform initial actor picks index 0 (first of the tied logits).
    const result = await trainer.evaluate([trainingQueries[0]!, trainingQueries[1]!]);
    expect(result).toEqual({
      meanReward: 1,
      bestChoiceRate: 1,
      chanceMeanReward: 2.5 / 4,
      chanceBestChoiceRate: 2 / 4,
      evaluated: 2,
      skipped: 0,
    });
  });

  it('names the bad part or setting', async () => {
    const { actor, critic } = makeTrainer({ seed: 8 });
    const parts = {
      generator,
      featurizer,
      actor,
      critic,
      updateRule: createCandidateUpdateRule(),
      reward,
    };
    expect(() => new CandidateSelectorTrainer({ ...parts, candidateCount: 1 })).toThrow(
      ValidationError,
    );
    expect(() => new CandidateSelectorTrainer({ ...parts, updateEvery: 0 })).toThrow(/updateEvery/);
    const short = new CandidateSelectorTrainer({
      ...parts,
      generator: { propose: async () => ['only one'] },
    });
    await expect(short.decide(trainingQueries[0]!)).rejects.toThrow(/generator\.propose/);
    const wrongSize = new CandidateSelectorTrainer({
      ...parts,
      featurizer: createHashingFeaturizer({ dimension: 8 }),
    });
    await expect(wrongSize.decide(trainingQueries[0]!)).rejects.toSatisfy(
      (error) => InvalidArgumentError.isInstance(error) && /featureSize 64/.test(String(error)),
    );
  });

  it('resumes exactly from getState: same weights as an uninterrupted run', async () => {
    const queries = trainingQueries.slice(0, 6); // 24 decisions a step: updates fall mid-way
    const straight = makeTrainer({ seed: 10 });
    for (let round = 0; round < 5; round++) await straight.trainer.step(queries);

    const interrupted = makeTrainer({ seed: 10 });
    for (let round = 0; round < 2; round++) await interrupted.trainer.step(queries);
    const state = structuredClone(interrupted.trainer.getState());
    expect(state.buffer.length).toBe(16);
    expect(state.appliedUpdates).toBe(1);

    // Different initial weights and seed: everything must come from the state.
    const resumed = makeTrainer({ seed: 77 });
    resumed.trainer.setState(state);
    for (let round = 2; round < 5; round++) await resumed.trainer.step(queries);
    const weights = (model: { getWeights(): Record<string, { data: Float32Array }> }) =>
      Object.values(model.getWeights()).map((tensor) => Array.from(tensor.data));
    expect(weights(resumed.actor)).toEqual(weights(straight.actor));
    expect(weights(resumed.critic)).toEqual(weights(straight.critic));
    expect(resumed.trainer.updates).toBe(straight.trainer.updates);
    expect(() => resumed.trainer.setState({ ...state, appliedUpdates: -1 })).toThrow(
      /state\.appliedUpdates/,
    );
  });

  it('keeps the tensor count flat over many updates', async () => {
    const { trainer, updates } = makeTrainer({
      seed: 9,
      updateRule: { advantage: 'critic' },
      updateEvery: 8,
    });
    await trainer.step(trainingQueries.slice(0, 2));
    const count = tf.memory().numTensors;
    for (let round = 0; round < 5; round++) await trainer.step(trainingQueries);
    await trainer.evaluate(heldOutQueries.slice(0, 4));
    expect(updates().length).toBe(1 + 5 * 4);
    expect(tf.memory().numTensors).toBe(count);
  });
});
