import { Random, type Trajectory } from '@cohort/core';
import { MockTokenizer } from '@cohort/core/test';
import {
  type CausalLanguageModel,
  createOptimizer,
  tokenLogProbs,
  UnigramPolicy,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';

/** A unigram policy over the mock tokenizer's vocabulary with seeded, spread-out logits. */
export function fixturePolicy(seed = 1): UnigramPolicy {
  const tokenizer = new MockTokenizer();
  const random = new Random(seed);
  const initialLogits = Array.from({ length: tokenizer.vocabSize }, () => random.normal() * 1.5);
  return new UnigramPolicy({ tokenizer, initialLogits });
}

/** log softmax(logits / temperature)[id] in float64: the unigram policy's log-prob, computed independently. */
export function unigramLogProb(logits: readonly number[], id: number, temperature = 1): number {
  const scaled = logits.map((value) => value / temperature);
  const maximum = Math.max(...scaled);
  const logSum =
    maximum + Math.log(scaled.reduce((sum, value) => sum + Math.exp(value - maximum), 0));
  return scaled[id]! - logSum;
}

/**
 * A trajectory of `length` random tokens whose last `sampled` tokens the
 * policy sampled, with behaviour log-probs from `behaviorLogits` (the
 * policy's own logits give ratio 1), one agent turn and reward `reward`.
 */
export function fixtureTrajectory(options: {
  id: string;
  random: Random;
  behaviorLogits: readonly number[];
  length: number;
  sampled: number;
  reward: number;
  policyVersion?: number;
}): Trajectory {
  const { length, sampled } = options;
  const tokenIds = Array.from({ length }, () => options.random.int(4, 94));
  const lossMask = tokenIds.map((_, position) => (position >= length - sampled ? 1 : 0) as 0 | 1);
  return {
    id: options.id,
    scenarioId: 'fixture',
    seed: 0,
    policyVersion: options.policyVersion ?? 0,
    messages: [],
    turns: [
      { role: 'user', content: 'q', tokenStart: 0, tokenEnd: length - sampled, reward: null },
      {
        role: 'assistant',
        content: 'a',
        tokenStart: length - sampled,
        tokenEnd: length,
        reward: options.reward,
      },
    ],
    tokenIds,
    lossMask,
    behaviorLogProbs: tokenIds.map((id, position) =>
      lossMask[position] === 1 ? unigramLogProb(options.behaviorLogits, id) : 0,
    ),
    rewardsPerTurn: [options.reward],
    rewardsByFunction: {},
    totalReward: options.reward,
    endReason: 'success',
    truncated: false,
    temperature: 1,
  };
}

/**
 * Supervised steps (Adam) on `prompt -> answer <end of turn>` for every
 * answer token, so that a random model answers in format, near uniformly over
 * the answers, as a pretrained chat model would (every weight of `model` trains).
 */
export function teachAnswers(options: {
  model: CausalLanguageModel & {
    trainableVariables(): tf.Variable[];
    namedVariables(): Record<string, tf.Variable>;
  };
  promptIds: readonly number[];
  answerIds: readonly number[];
  endOfTurnId: number;
  steps: number;
  learningRate: number;
}): void {
  const { model, promptIds } = options;
  const optimizer = createOptimizer({
    type: 'adam',
    learningRate: options.learningRate,
    variables: model.namedVariables(),
  });
  const sequences = options.answerIds.map((id) => [...promptIds, id, options.endOfTurnId]);
  for (let step = 0; step < options.steps; step++) {
    const { grads, value } = tf.variableGrads(() => {
      const { logProbs, mask } = tokenLogProbs(model, { sequences });
      mask.dispose();
      const answer = logProbs.slice([0, promptIds.length], [-1, 2]);
      return answer.sum().neg().div(sequences.length) as tf.Scalar;
    }, model.trainableVariables());
    optimizer.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
  }
  optimizer.dispose();
}
