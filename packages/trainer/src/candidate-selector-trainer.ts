import {
  type CandidateActor,
  type CandidateUpdateResult,
  type CandidateUpdateRule,
  type Featurizer,
  InvalidArgumentError,
  parseWithSchema,
  Random,
  type RandomState,
  type RewardCritic,
  type Transition,
} from '@cohort/core';
import { argmax, type WeightMap } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import type { CandidateQuery, CandidateRewardSource } from './candidate-reward';
import {
  type CandidateSelectorOptions,
  type CandidateSelectorOptionsInput,
  CandidateSelectorOptionsSchema,
} from './candidate-selector-trainer-options';

/**
 * A frozen source of candidate responses: a transformers.js LM sampling K
 * completions, a retrieval index, a bank of canned replies. Deterministic for
 * a given `seed`.
 */
export interface CandidateGenerator {
  propose(request: {
    prompt: string;
    query: string;
    /** The scenario the query came from, when it came from one. */
    scenario?: unknown;
    count: number;
    seed: number;
  }): Promise<string[]>;
}

/** One choice of the actor, waiting for its reward. */
export interface CandidateDecision extends CandidateQuery {
  candidates: string[];
  /** `[K][dimension]` features of `query + "\n" + candidate`, as the actor saw them. */
  candidateFeatures: number[][];
  chosenIndex: number;
  response: string;
  /** `log pi(chosenIndex)` under the actor when it chose. */
  behaviorLogProb: number;
  /** The actor's probabilities over the K candidates when it chose. */
  probabilities: number[];
  /** Shared by the decisions sampled for one query in one call. */
  groupId: string;
  /** Number of updates the actor had had when it chose. */
  actorVersion: number;
}

/** Why a decision did not enter a batch. */
export type CandidateSkipReason = 'null-reward' | 'non-finite-reward' | 'reward-error' | 'stale';

/** Events of the {@link CandidateSelectorTrainer}, for logging and callbacks. */
export type CandidateSelectorEvent =
  | { type: 'decision'; decision: CandidateDecision }
  | {
      type: 'transition';
      transition: Transition;
      /** The decision rewarded, with the actor's probabilities when it chose. */
      decision: CandidateDecision;
    }
  | {
      type: 'skipped';
      reason: CandidateSkipReason;
      decision: CandidateDecision;
      /** The reward received (NaN, Infinity, null) or the error thrown. */
      detail: unknown;
    }
  | {
      type: 'update';
      /** Updates attempted so far, this one included. */
      update: number;
      actorLoss: number;
      criticLoss: number;
      applied: boolean;
      skipReason?: string;
      /** Includes meanReward, klToInitial, clipFraction, meanAdvantage, meanAbsoluteAdvantage. */
      metrics: Record<string, number>;
    };

/** Options of {@link CandidateSelectorTrainer}: its parts and {@link CandidateSelectorOptionsSchema}. */
export interface CandidateSelectorTrainerOptions<
  Actor extends CandidateActor<tf.Tensor, tf.Variable>,
  Critic extends RewardCritic<tf.Tensor, tf.Variable>,
> extends CandidateSelectorOptionsInput {
  generator: CandidateGenerator;
  /** Turns `query + "\n" + candidate` into the features the actor and the critic see. */
  featurizer: Featurizer;
  actor: Actor;
  critic: Critic;
  updateRule: CandidateUpdateRule<Actor, Critic>;
  /** The reward of a decision: a function, or a person answering later (a Promise). */
  reward: CandidateRewardSource;
  onEvent?: (event: CandidateSelectorEvent) => void;
}

/** What one {@link CandidateSelectorTrainer.step} did. */
export interface CandidateStepSummary {
  /** Mean of the rewards that entered the buffer in this step (0 when none did). */
  meanReward: number;
  decisions: number;
  skipped: number;
  /** Update results of this step, in order. */
  updates: CandidateUpdateResult[];
}

/** What {@link CandidateSelectorTrainer.evaluate} measured. */
export interface CandidateEvaluation {
  /** Mean reward of the greedy (most probable) choices. */
  meanReward: number;
  /** Fraction of queries where the greedy choice has the highest reward of the K (ties count). */
  bestChoiceRate: number;
  /** What a uniformly random choice would get on the same candidates, in expectation. */
  chanceMeanReward: number;
  chanceBestChoiceRate: number;
  /** Queries that counted (every candidate scored with a finite reward). */
  evaluated: number;
  /** Queries left out because a candidate's reward was null, not finite, or threw. */
  skipped: number;
}

/**
 * Everything a {@link CandidateSelectorTrainer} needs to continue exactly where
 * it stopped: its random stream, the rewarded decisions waiting for an update,
 * its counters, and, when they expose them, the actor's and critic's weights
 * and the update rule's state. Plain memory (typed arrays inside the weights).
 */
export interface CandidateSelectorState {
  random: RandomState;
  buffer: Transition[];
  attemptedUpdates: number;
  appliedUpdates: number;
  groupCounter: number;
  actor?: WeightMap;
  critic?: WeightMap;
  updateRule?: unknown;
}

interface WithWeights {
  getWeights(): WeightMap;
  setWeights(weights: WeightMap): void;
}

interface WithState {
  getState(): unknown;
  setState(state: unknown): void;
}

function hasWeights(value: unknown): value is WithWeights {
  const candidate = value as Partial<WithWeights>;
  return typeof candidate.getWeights === 'function' && typeof candidate.setWeights === 'function';
}

function hasState(value: unknown): value is WithState {
  const candidate = value as Partial<WithState>;
  return typeof candidate.getState === 'function' && typeof candidate.setState === 'function';
}

/** What `rewardOf` returns when the reward threw (already reported). */
const REWARD_FAILED = Symbol('reward-failed');

/**
 * The candidate selector of the GPRO actor-critic formulation: a frozen
 * {@link CandidateGenerator} proposes K candidates per query, the featurizer
 * turns each `query + "\n" + candidate` into features, the actor samples one
 * from `softmax(logits)` with the core `Random` (greedy in `evaluate`), the
 * reward arrives from a function or a person, and after every M rewarded
 * decisions `updateRule.update(batch, actor, critic)` trains the actor and the
 * critic (see {@link ClippedCandidateUpdateRule}).
 *
 * Two ways to drive it: `step(queries)` samples `samplesPerQuery` decisions
 * per query and awaits their rewards concurrently (a person may answer them in
 * any order); or `decide(query)` now and `record(decision, reward)` whenever
 * the feedback comes. Rewards that are `null`, not finite, or throw are not
 * trained on: the decision is skipped and reported as a `skipped` event (so a
 * person's typo cannot stop a run). Decisions older than `maxStaleness`
 * updates are skipped too.
 *
 * The critic sees the chosen candidate's features (the transition carries no
 * separate `criticFeatures`).
 *
 * @example
 * ```ts
 * const trainer = new CandidateSelectorTrainer({ generator, featurizer, actor, critic,
 *   updateRule: createCandidateUpdateRule(), reward, candidateCount: 4, updateEvery: 32 });
 * for (let round = 0; round < 10; round++) await trainer.step(queries);
 * const { bestChoiceRate } = await trainer.evaluate(heldOut);
 * ```
 */
export class CandidateSelectorTrainer<
  Actor extends CandidateActor<tf.Tensor, tf.Variable>,
  Critic extends RewardCritic<tf.Tensor, tf.Variable>,
> {
  readonly settings: CandidateSelectorOptions;
  private readonly parts: CandidateSelectorTrainerOptions<Actor, Critic>;
  private readonly random: Random;
  private readonly buffer: Transition[] = [];
  private attemptedUpdates = 0;
  private appliedUpdates = 0;
  private groupCounter = 0;

  constructor(options: CandidateSelectorTrainerOptions<Actor, Critic>) {
    const { generator, featurizer, actor, critic, updateRule, reward, onEvent, ...settings } =
      options;
    this.settings = parseWithSchema(
      CandidateSelectorOptionsSchema,
      settings,
      'candidate selector trainer options',
    );
    const required = { generator, featurizer, actor, critic, updateRule, reward };
    for (const [name, part] of Object.entries(required)) {
      if (part === undefined || part === null) {
        throw new InvalidArgumentError({ argument: name, value: part, message: 'is required' });
      }
    }
    if (typeof reward !== 'function') {
      throw new InvalidArgumentError({
        argument: 'reward',
        value: reward,
        message: 'must be a function (use candidateRewardFromFunction for a RewardFunction)',
      });
    }
    this.parts = options;
    this.random = new Random(this.settings.seed);
  }

  /** Updates that changed the weights so far. */
  get updates(): number {
    return this.appliedUpdates;
  }

  /** Rewarded decisions waiting for the next update. */
  get pending(): number {
    return this.buffer.length;
  }

  /**
   * A snapshot to resume from (see {@link CandidateSelectorState}). Take it
   * between calls, not while `step` runs; feedback still pending then is lost.
   */
  getState(): CandidateSelectorState {
    const { actor, critic, updateRule } = this.parts;
    return {
      random: this.random.getState(),
      buffer: structuredClone(this.buffer),
      attemptedUpdates: this.attemptedUpdates,
      appliedUpdates: this.appliedUpdates,
      groupCounter: this.groupCounter,
      ...(hasWeights(actor) ? { actor: actor.getWeights() } : {}),
      ...(hasWeights(critic) ? { critic: critic.getWeights() } : {}),
      ...(hasState(updateRule) ? { updateRule: updateRule.getState() } : {}),
    };
  }

  /**
   * Restores a snapshot from {@link getState} into this trainer, its actor,
   * critic and update rule (a fresh update rule, for {@link ClippedCandidateUpdateRule}).
   */
  setState(state: CandidateSelectorState): void {
    const { actor, critic, updateRule } = this.parts;
    for (const name of ['attemptedUpdates', 'appliedUpdates', 'groupCounter'] as const) {
      if (!Number.isInteger(state[name]) || state[name] < 0) {
        throw new InvalidArgumentError({
          argument: `state.${name}`,
          value: state[name],
          message: 'must be a non-negative integer',
        });
      }
    }
    if (!Array.isArray(state.buffer)) {
      throw new InvalidArgumentError({
        argument: 'state.buffer',
        value: state.buffer,
        message: 'must be an array of transitions',
      });
    }
    this.random.setState(state.random);
    if (state.actor !== undefined && hasWeights(actor)) actor.setWeights(state.actor);
    if (state.critic !== undefined && hasWeights(critic)) critic.setWeights(state.critic);
    if (state.updateRule !== undefined && hasState(updateRule))
      updateRule.setState(state.updateRule);
    this.buffer.splice(0, this.buffer.length, ...structuredClone(state.buffer));
    this.attemptedUpdates = state.attemptedUpdates;
    this.appliedUpdates = state.appliedUpdates;
    this.groupCounter = state.groupCounter;
  }

  private emit(event: CandidateSelectorEvent): void {
    this.parts.onEvent?.(event);
  }

  private async candidatesFor(
    query: CandidateQuery,
    seed: number,
  ): Promise<{ candidates: string[]; features: number[][] }> {
    const count = this.settings.candidateCount;
    const candidates = await this.parts.generator.propose({ ...query, count, seed });
    if (
      !Array.isArray(candidates) ||
      candidates.length !== count ||
      candidates.some((candidate) => typeof candidate !== 'string')
    ) {
      throw new InvalidArgumentError({
        argument: 'generator.propose()',
        value: Array.isArray(candidates) ? `${candidates.length} items` : candidates,
        message: `must return candidateCount = ${count} strings`,
      });
    }
    const features = await this.parts.featurizer.featurize(
      candidates.map((candidate) => `${query.query}\n${candidate}`),
    );
    const dimension = this.parts.featurizer.dimension;
    features.forEach((vector, index) => {
      if (vector.length !== dimension) {
        throw new InvalidArgumentError({
          argument: `featurizer.featurize()[${index}].length`,
          value: vector.length,
          message: `must equal featurizer.dimension = ${dimension}`,
        });
      }
    });
    if (features.length !== count) {
      throw new InvalidArgumentError({
        argument: 'featurizer.featurize().length',
        value: features.length,
        message: `must equal the ${count} texts given`,
      });
    }
    return { candidates, features };
  }

  private logProbabilities(features: number[][]): number[] {
    const logProbs = tf.tidy(() => tf.logSoftmax(this.parts.actor.logits([features])));
    const values = Array.from(logProbs.dataSync());
    logProbs.dispose();
    return values;
  }

  /**
   * Proposes K candidates for `query` and lets the actor choose `samples`
   * times among them (sampling; or once, the most probable, with `greedy`).
   * The decisions share a `groupId`.
   */
  async decide(
    query: CandidateQuery,
    options: { samples?: number; greedy?: boolean } = {},
  ): Promise<CandidateDecision[]> {
    const samples = options.greedy ? 1 : (options.samples ?? 1);
    if (!Number.isInteger(samples) || samples < 1) {
      throw new InvalidArgumentError({
        argument: 'samples',
        value: options.samples,
        message: 'must be a positive integer',
      });
    }
    const { candidates, features } = await this.candidatesFor(query, this.random.seed());
    const logProbs = this.logProbabilities(features);
    const probabilities = logProbs.map(Math.exp);
    const groupId = `query-${this.groupCounter++}`;
    const decisions: CandidateDecision[] = [];
    for (let sample = 0; sample < samples; sample++) {
      const chosenIndex = options.greedy
        ? argmax(logProbs)
        : this.random.categorical(probabilities);
      const decision: CandidateDecision = {
        prompt: query.prompt,
        query: query.query,
        ...(query.scenario === undefined ? {} : { scenario: query.scenario }),
        candidates,
        candidateFeatures: features,
        chosenIndex,
        response: candidates[chosenIndex]!,
        behaviorLogProb: logProbs[chosenIndex]!,
        probabilities,
        groupId,
        actorVersion: this.appliedUpdates,
      };
      this.emit({ type: 'decision', decision });
      decisions.push(decision);
    }
    return decisions;
  }

  /** Buffers the decision with its reward, or skips and reports it; true when buffered. */
  private accept(decision: CandidateDecision, reward: unknown): boolean {
    let reason: CandidateSkipReason | undefined;
    if (reward === null || reward === undefined) reason = 'null-reward';
    else if (typeof reward !== 'number' || !Number.isFinite(reward)) reason = 'non-finite-reward';
    else if (this.appliedUpdates - decision.actorVersion >= this.settings.maxStaleness)
      reason = 'stale';
    if (reason !== undefined) {
      this.emit({ type: 'skipped', reason, decision, detail: reward });
      return false;
    }
    const transition: Transition = {
      prompt: decision.prompt,
      query: decision.query,
      candidates: decision.candidates,
      chosenIndex: decision.chosenIndex,
      reward: reward as number,
      behaviorLogProb: decision.behaviorLogProb,
      candidateFeatures: decision.candidateFeatures,
      groupId: decision.groupId,
    };
    this.buffer.push(transition);
    this.emit({ type: 'transition', transition, decision });
    return true;
  }

  /**
   * Records the reward of a decision made by {@link decide} (a number; `null`
   * or a non-finite value is skipped and reported) and updates when M rewarded
   * decisions are waiting. Returns the update's result when one ran.
   */
  async record(
    decision: CandidateDecision,
    reward: number | null,
  ): Promise<CandidateUpdateResult | undefined> {
    this.accept(decision, reward);
    return this.buffer.length >= this.settings.updateEvery ? this.flush() : undefined;
  }

  private async rewardOf(decision: CandidateDecision): Promise<unknown> {
    try {
      return await this.parts.reward({
        prompt: decision.prompt,
        query: decision.query,
        ...(decision.scenario === undefined ? {} : { scenario: decision.scenario }),
        response: decision.response,
        candidates: decision.candidates,
        chosenIndex: decision.chosenIndex,
      });
    } catch (error) {
      this.emit({ type: 'skipped', reason: 'reward-error', decision, detail: error });
      return REWARD_FAILED;
    }
  }

  /**
   * Answers every query: `samplesPerQuery` sampled decisions, their rewards
   * awaited together, then an update when M rewarded decisions are waiting.
   */
  async step(queries: readonly CandidateQuery[]): Promise<CandidateStepSummary> {
    const summary: CandidateStepSummary = { meanReward: 0, decisions: 0, skipped: 0, updates: [] };
    let rewardSum = 0;
    let accepted = 0;
    for (const query of queries) {
      const decisions = await this.decide(query, { samples: this.settings.samplesPerQuery });
      const rewards = await Promise.all(decisions.map((decision) => this.rewardOf(decision)));
      decisions.forEach((decision, index) => {
        summary.decisions++;
        const reward = rewards[index];
        if (reward === REWARD_FAILED) {
          summary.skipped++;
        } else if (this.accept(decision, reward)) {
          rewardSum += reward as number;
          accepted++;
        } else {
          summary.skipped++;
        }
      });
      if (this.buffer.length >= this.settings.updateEvery) {
        const result = await this.flush();
        if (result !== undefined) summary.updates.push(result);
      }
    }
    summary.meanReward = accepted === 0 ? 0 : rewardSum / accepted;
    return summary;
  }

  /** Updates on whatever rewarded decisions are waiting; undefined when none are. */
  async flush(): Promise<CandidateUpdateResult | undefined> {
    if (this.buffer.length === 0) return undefined;
    const batch = this.buffer.splice(0, this.buffer.length);
    const result = await this.parts.updateRule.update(batch, this.parts.actor, this.parts.critic);
    this.attemptedUpdates++;
    if (result.applied) this.appliedUpdates++;
    const skipReason = (result as { skipReason?: unknown }).skipReason;
    this.emit({
      type: 'update',
      update: this.attemptedUpdates,
      actorLoss: result.actorLoss,
      criticLoss: result.criticLoss,
      applied: result.applied,
      ...(typeof skipReason === 'string' ? { skipReason } : {}),
      metrics: result.metrics,
    });
    return result;
  }

  /**
   * Greedy choices on `queries`, each scored against all K candidates: the
   * mean reward of the choices and how often they were the best of the K,
   * beside what a uniformly random choice would get. Every candidate is
   * scored, so pass `reward` to evaluate with a function when training
   * rewards come from a person. The generator's seeds come from `seed`
   * (default 12345), so two evaluations see the same candidates.
   */
  async evaluate(
    queries: readonly CandidateQuery[],
    options: { seed?: number; reward?: CandidateRewardSource } = {},
  ): Promise<CandidateEvaluation> {
    const random = new Random(options.seed ?? 12345);
    const rewardOf = options.reward ?? this.parts.reward;
    const totals = { reward: 0, best: 0, chanceReward: 0, chanceBest: 0, evaluated: 0 };
    for (const query of queries) {
      const { candidates, features } = await this.candidatesFor(query, random.seed());
      const chosen = argmax(this.logProbabilities(features));
      let rewards: unknown[];
      try {
        rewards = await Promise.all(
          candidates.map((response, chosenIndex) =>
            rewardOf({ ...query, response, candidates, chosenIndex }),
          ),
        );
      } catch {
        continue;
      }
      if (!rewards.every((reward) => typeof reward === 'number' && Number.isFinite(reward))) {
        continue;
      }
      const values = rewards as number[];
      const top = Math.max(...values);
      totals.reward += values[chosen]!;
      totals.best += values[chosen]! >= top ? 1 : 0;
      totals.chanceReward += values.reduce((sum, value) => sum + value, 0) / values.length;
      totals.chanceBest += values.filter((value) => value >= top).length / values.length;
      totals.evaluated++;
    }
    const share = (value: number) => (totals.evaluated === 0 ? 0 : value / totals.evaluated);
    return {
      meanReward: share(totals.reward),
      bestChoiceRate: share(totals.best),
      chanceMeanReward: share(totals.chanceReward),
      chanceBestChoiceRate: share(totals.chanceBest),
      evaluated: totals.evaluated,
      skipped: queries.length - totals.evaluated,
    };
  }
}
