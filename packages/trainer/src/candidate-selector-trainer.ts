import { type Featurizer, InvalidArgumentError, Random, type Transition } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import type { MlpCandidateActor, MlpRewardCritic } from './candidate-models';
import type { MlpGproOptimizer } from './gpro-optimizer';

/** A frozen source of candidate responses (for example a transformers.js LM). */
export interface CandidateGenerator {
  propose(request: {
    prompt: string;
    query: string;
    count: number;
    seed: number;
  }): Promise<string[]>;
}

/** One query to answer. */
export interface CandidateQuery {
  prompt: string;
  query: string;
}

/** Where a reward comes from: a function or a person, possibly later (a Promise). */
export type CandidateRewardSource = (input: {
  prompt: string;
  query: string;
  response: string;
}) => number | Promise<number>;

/** Events of the {@link CandidateSelectorTrainer}. */
export type CandidateSelectorEvent =
  | { type: 'decision'; transition: Transition }
  | {
      type: 'update';
      updates: number;
      actorLoss: number;
      criticLoss: number;
      applied: boolean;
      metrics: Record<string, number>;
    };

/** Options of {@link CandidateSelectorTrainer}. */
export interface CandidateSelectorTrainerOptions {
  generator: CandidateGenerator;
  /** Turns `query + "\n" + candidate` into the feature vector the actor and critic see. */
  featurizer: Featurizer;
  actor: MlpCandidateActor;
  critic: MlpRewardCritic;
  optimizer: MlpGproOptimizer;
  reward: CandidateRewardSource;
  /** K: candidates per query. */
  candidateCount: number;
  /** M: transitions between updates. */
  updateEvery: number;
  /** Times each query is answered within a batch, so group advantages have a group (default 4). */
  repeatsPerQuery?: number;
  seed?: number;
  onEvent?: (event: CandidateSelectorEvent) => void;
}

/**
 * The actor-critic candidate selector (GPRO): a frozen LM proposes K
 * candidates per query, the actor samples one from its softmax over their
 * features, the reward arrives (from a function or a person), and every M
 * transitions the {@link MlpGproOptimizer} updates the actor and the critic.
 *
 * @example
 * ```ts
 * const trainer = new CandidateSelectorTrainer({ generator, featurizer, actor, critic,
 *   optimizer: createGproOptimizer(), reward, candidateCount: 4, updateEvery: 32 });
 * await trainer.train(queries, 10);
 * ```
 */
export class CandidateSelectorTrainer {
  readonly options: CandidateSelectorTrainerOptions;
  private readonly random: Random;
  private readonly buffer: Transition[] = [];
  private updateCount = 0;
  private groupCounter = 0;

  constructor(options: CandidateSelectorTrainerOptions) {
    for (const name of ['candidateCount', 'updateEvery'] as const) {
      if (!Number.isInteger(options[name]) || options[name] < 1) {
        throw new InvalidArgumentError({
          argument: name,
          value: options[name],
          message: 'must be a positive integer',
        });
      }
    }
    this.options = options;
    this.random = new Random(options.seed ?? 0);
  }

  get updates(): number {
    return this.updateCount;
  }

  private async candidatesFor(
    query: CandidateQuery,
    seed: number,
  ): Promise<{ candidates: string[]; features: number[][] }> {
    const candidates = await this.options.generator.propose({
      ...query,
      count: this.options.candidateCount,
      seed,
    });
    if (candidates.length !== this.options.candidateCount) {
      throw new InvalidArgumentError({
        argument: 'generator.propose',
        value: candidates.length,
        message: `returned ${candidates.length} candidates; expected candidateCount ${this.options.candidateCount}`,
      });
    }
    const features = await this.options.featurizer.featurize(
      candidates.map((candidate) => `${query.query}\n${candidate}`),
    );
    return { candidates, features };
  }

  /** The actor's log-probabilities over each query's candidates. */
  private logProbabilities(features: number[][][]): number[][] {
    const logProbs = tf.tidy(() => tf.logSoftmax(this.options.actor.logits(features)));
    const values = logProbs.arraySync() as number[][];
    logProbs.dispose();
    return values;
  }

  /**
   * Answers each query `repeatsPerQuery` times (sampling from the actor),
   * collects the rewards, and updates every `updateEvery` transitions.
   * Returns the mean reward of the answers.
   */
  async step(queries: readonly CandidateQuery[]): Promise<number> {
    const repeats = this.options.repeatsPerQuery ?? 4;
    let rewardSum = 0;
    let count = 0;
    for (const query of queries) {
      const groupId = `g${this.groupCounter++}`;
      const { candidates, features } = await this.candidatesFor(query, this.random.nextUint32());
      const [logProbabilities] = this.logProbabilities([features]);
      for (let repeat = 0; repeat < repeats; repeat++) {
        const chosenIndex = this.random.categorical(logProbabilities!.map(Math.exp));
        const response = candidates[chosenIndex]!;
        const reward = await this.options.reward({ ...query, response });
        const transition: Transition = {
          prompt: query.prompt,
          query: query.query,
          candidates,
          chosenIndex,
          reward,
          behaviorLogProb: logProbabilities![chosenIndex]!,
          candidateFeatures: features,
          groupId,
        };
        this.options.onEvent?.({ type: 'decision', transition });
        this.buffer.push(transition);
        rewardSum += reward;
        count++;
        if (this.buffer.length >= this.options.updateEvery) await this.flush();
      }
    }
    return count === 0 ? 0 : rewardSum / count;
  }

  /** Updates on whatever transitions are buffered. */
  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = this.buffer.splice(0, this.buffer.length);
    const result = await this.options.optimizer.update(
      batch,
      this.options.actor,
      this.options.critic,
    );
    this.updateCount++;
    this.options.onEvent?.({ type: 'update', updates: this.updateCount, ...result });
  }

  /**
   * Greedy choices on `queries`: the mean reward, and, when `scoreAll` is set,
   * the accuracy of picking the best of the K candidates (scored by the reward
   * function, so only for function rewards, not for a person).
   */
  async evaluate(
    queries: readonly CandidateQuery[],
    options: { seed?: number } = {},
  ): Promise<{ meanReward: number; bestChoiceRate: number }> {
    const random = new Random(options.seed ?? 12345);
    let rewardSum = 0;
    let best = 0;
    for (const query of queries) {
      const { candidates, features } = await this.candidatesFor(query, random.nextUint32());
      const [logProbabilities] = this.logProbabilities([features]);
      const chosen = logProbabilities!.indexOf(Math.max(...logProbabilities!));
      const rewards = await Promise.all(
        candidates.map((response) => this.options.reward({ ...query, response })),
      );
      rewardSum += rewards[chosen]!;
      if (rewards[chosen]! >= Math.max(...rewards)) best++;
    }
    return { meanReward: rewardSum / queries.length, bestChoiceRate: best / queries.length };
  }
}
