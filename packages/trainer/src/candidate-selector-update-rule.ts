import {
  type CandidateUpdateResult,
  type CandidateUpdateRule,
  InvalidArgumentError,
  NonFiniteError,
  parseWithSchema,
  type Transition,
} from '@cohort/core';
import { exactKlTensor } from '@cohort/kl';
import { createOptimizer, type WeightMap } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { candidateActorLoss } from './candidate-selector-actor-loss';
import {
  criticBaselineAdvantages,
  transitionGroupAdvantages,
} from './candidate-selector-advantages';
import type {
  TrainableCandidateActor,
  TrainableRewardCritic,
} from './candidate-selector-trainable';
import {
  type CandidateUpdateRuleOptions,
  type CandidateUpdateRuleOptionsInput,
  CandidateUpdateRuleOptionsSchema,
} from './candidate-selector-update-rule-options';
import type { PolicyOptimizer } from './trainable-policy';

/** Parts of a {@link ClippedCandidateUpdateRule} to use instead of the configured ones. */
export interface CandidateUpdateRuleParts {
  /** Optimizer of the actor's `namedVariables()` (instead of `options.actorOptimizer`). */
  actorOptimizer?: PolicyOptimizer;
  /** Optimizer of the critic's `namedVariables()` (instead of `options.criticOptimizer`). */
  criticOptimizer?: PolicyOptimizer;
  /** The frozen reference of the KL term; by default a clone of the actor at its first update. */
  initialActor?: TrainableCandidateActor;
}

/** Everything a {@link ClippedCandidateUpdateRule} learned, in plain memory (for checkpoints and resume). */
export interface ClippedCandidateUpdateRuleState {
  updates: number;
  /** Weights of the frozen initial actor; undefined before the first update. */
  initialActor?: WeightMap;
  actorOptimizer?: unknown;
  criticOptimizer?: unknown;
}

/** What {@link ClippedCandidateUpdateRule.update} did; `skipReason` says why when `applied` is false. */
export interface ClippedCandidateUpdateResult extends CandidateUpdateResult {
  skipReason?: string;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

function validateBatch(batch: readonly Transition[]): void {
  if (batch.length === 0) {
    throw new InvalidArgumentError({
      argument: 'batch',
      value: [],
      message: 'needs at least one transition',
    });
  }
  const count = batch[0]!.candidateFeatures.length;
  batch.forEach((transition, index) => {
    if (!Number.isFinite(transition.reward)) {
      throw new NonFiniteError({
        quantity: `batch[${index}].reward`,
        value: transition.reward,
        context: 'GPRO update; skip or repair the transition before the update',
      });
    }
    if (!Number.isFinite(transition.behaviorLogProb)) {
      throw new NonFiniteError({
        quantity: `batch[${index}].behaviorLogProb`,
        value: transition.behaviorLogProb,
        context: 'GPRO update',
      });
    }
    if (transition.behaviorLogProb > 1e-6) {
      throw new InvalidArgumentError({
        argument: `batch[${index}].behaviorLogProb`,
        value: transition.behaviorLogProb,
        message: 'is a log-probability, so at most 0',
      });
    }
    if (transition.candidateFeatures.length !== count || count === 0) {
      throw new InvalidArgumentError({
        argument: `batch[${index}].candidateFeatures.length`,
        value: transition.candidateFeatures.length,
        message: `every transition of a batch needs the same K >= 1 as batch[0] (${count})`,
      });
    }
    if (
      !Number.isInteger(transition.chosenIndex) ||
      transition.chosenIndex < 0 ||
      transition.chosenIndex >= count
    ) {
      throw new InvalidArgumentError({
        argument: `batch[${index}].chosenIndex`,
        value: transition.chosenIndex,
        message: `must be an integer in [0, ${count})`,
      });
    }
  });
}

/**
 * The GPRO update of the candidate selector (actor-critic over K candidates
 * proposed by a frozen LM). For a batch of transitions (every M queries):
 *
 * 1. advantages: `'group'`, `(r - mean_g r) / std_g r` over the transitions
 *    sharing a `groupId` (GRPO), or `'critic'`, `r - V(x)` with the critic's
 *    prediction detached (whitened over the batch by default);
 * 2. `epochs` passes, each one Adam step of the actor on {@link candidateActorLoss}
 *    (PPO clip on the chosen candidate's probability ratio to the behavior
 *    probability, plus beta times the exact KL to the initial actor over the K
 *    candidates) and one step of the critic on `mean_i (V(x_i) - r_i)^2`, with
 *    `x_i` the transition's `criticFeatures`, or the chosen candidate's features
 *    when it has none.
 *
 * The update is all or nothing: if any loss or gradient of any epoch is not
 * finite (or a critic prediction, for critic advantages), the actor, the
 * critic and both optimizers' states are put back as they were before the
 * update, and the result says `applied: false` with a `skipReason`. A NaN or
 * infinite reward is a caller's error, refused before anything changes with a
 * `NonFiniteError` naming `batch[i].reward` (the {@link CandidateSelectorTrainer}
 * skips and reports such rewards before they reach a batch).
 *
 * The optimizers' moments belong to the actor and critic of the first update;
 * passing other ones later throws.
 *
 * @example
 * ```ts
 * const updateRule = createCandidateUpdateRule({ advantage: 'critic', epochs: 2, klCoefficient: 0.01 });
 * const { actorLoss, criticLoss, applied, metrics } = await updateRule.update(transitions, actor, critic);
 * console.log(metrics.klToInitial, metrics.clipFraction);
 * ```
 */
export class ClippedCandidateUpdateRule
  implements CandidateUpdateRule<TrainableCandidateActor, TrainableRewardCritic>
{
  readonly options: CandidateUpdateRuleOptions;
  private initialActor: TrainableCandidateActor | undefined;
  private actorOptimizer: PolicyOptimizer | undefined;
  private criticOptimizer: PolicyOptimizer | undefined;
  private boundActor: TrainableCandidateActor | undefined;
  private boundCritic: TrainableRewardCritic | undefined;
  private updateCount = 0;
  private pendingState: ClippedCandidateUpdateRuleState | undefined;

  constructor(options: CandidateUpdateRuleOptionsInput = {}, parts: CandidateUpdateRuleParts = {}) {
    this.options = parseWithSchema(
      CandidateUpdateRuleOptionsSchema,
      options,
      'candidate update rule options',
    );
    this.actorOptimizer = parts.actorOptimizer;
    this.criticOptimizer = parts.criticOptimizer;
    this.initialActor = parts.initialActor;
  }

  /** Updates applied so far (skipped ones do not count). */
  get updates(): number {
    return this.updateCount;
  }

  /** The frozen reference actor of the KL term (undefined before the first update unless given). */
  get referenceActor(): TrainableCandidateActor | undefined {
    return this.initialActor;
  }

  private bind(actor: TrainableCandidateActor, critic: TrainableRewardCritic): void {
    if (this.boundActor !== undefined && this.boundActor !== actor) {
      throw new InvalidArgumentError({
        argument: 'actor',
        value: '(another actor)',
        message:
          "differs from the actor of this update rule's first update; its moments and initial copy belong to that one, so create a new update rule",
      });
    }
    if (this.boundCritic !== undefined && this.boundCritic !== critic) {
      throw new InvalidArgumentError({
        argument: 'critic',
        value: '(another critic)',
        message:
          "differs from the critic of this update rule's first update; create a new update rule",
      });
    }
    this.boundActor = actor;
    this.boundCritic = critic;
    this.initialActor ??= actor.clone();
    this.actorOptimizer ??= createOptimizer({
      ...this.options.actorOptimizer,
      variables: actor.namedVariables(),
    });
    this.criticOptimizer ??= createOptimizer({
      ...this.options.criticOptimizer,
      variables: critic.namedVariables(),
    });
    const pending = this.pendingState;
    if (pending !== undefined) {
      this.pendingState = undefined;
      if (pending.initialActor !== undefined) this.initialActor.setWeights(pending.initialActor);
      if (pending.actorOptimizer !== undefined)
        this.actorOptimizer.setState(pending.actorOptimizer);
      if (pending.criticOptimizer !== undefined)
        this.criticOptimizer.setState(pending.criticOptimizer);
    }
  }

  /**
   * The update count, the initial actor's weights and both optimizers' states.
   * With the actor's and critic's weights, enough to resume exactly.
   */
  getState(): ClippedCandidateUpdateRuleState {
    if (this.pendingState !== undefined) return this.pendingState;
    return {
      updates: this.updateCount,
      ...(this.initialActor === undefined ? {} : { initialActor: this.initialActor.getWeights() }),
      ...(this.actorOptimizer === undefined
        ? {}
        : { actorOptimizer: this.actorOptimizer.getState() }),
      ...(this.criticOptimizer === undefined
        ? {}
        : { criticOptimizer: this.criticOptimizer.getState() }),
    };
  }

  /**
   * Restores a state from {@link getState}, into a fresh updateRule (before its
   * first update): it takes effect when the first update meets its actor and critic.
   */
  setState(state: ClippedCandidateUpdateRuleState): void {
    if (this.boundActor !== undefined) {
      throw new InvalidArgumentError({
        argument: 'state',
        value: `updates ${state.updates}`,
        message: 'can only be restored into an updateRule that has not updated yet',
      });
    }
    if (!Number.isInteger(state.updates) || state.updates < 0) {
      throw new InvalidArgumentError({
        argument: 'state.updates',
        value: state.updates,
        message: 'must be a non-negative integer',
      });
    }
    this.updateCount = state.updates;
    this.pendingState = state;
  }

  async update(
    batch: readonly Transition[],
    actor: TrainableCandidateActor,
    critic: TrainableRewardCritic,
  ): Promise<ClippedCandidateUpdateResult> {
    validateBatch(batch);
    this.bind(actor, critic);
    const actorOptimizer = this.actorOptimizer!;
    const criticOptimizer = this.criticOptimizer!;
    const initialActor = this.initialActor!;
    const rewards = batch.map((transition) => transition.reward);
    const criticFeatures = batch.map(
      (transition) =>
        transition.criticFeatures ?? transition.candidateFeatures[transition.chosenIndex]!,
    );
    const candidateFeatures = batch.map((transition) => transition.candidateFeatures);
    const rewardMean = mean(rewards);
    const baseMetrics = {
      batchSize: batch.length,
      meanReward: rewardMean,
      rewardStd: Math.sqrt(mean(rewards.map((reward) => (reward - rewardMean) ** 2))),
    };

    let advantages: number[];
    if (this.options.advantage === 'group') {
      advantages = transitionGroupAdvantages(batch, { scale: this.options.groupScale });
    } else {
      const predicted = critic.predict(criticFeatures);
      const values = Array.from(predicted.dataSync());
      predicted.dispose();
      const bad = values.findIndex((value) => !Number.isFinite(value));
      if (bad >= 0) {
        return {
          actorLoss: Number.NaN,
          criticLoss: Number.NaN,
          applied: false,
          skipReason: `the critic predicted ${values[bad]} for batch[${bad}]`,
          metrics: { ...baseMetrics, epochsApplied: 0 },
        };
      }
      advantages = criticBaselineAdvantages({
        rewards,
        values,
        normalization: this.options.criticNormalization,
      });
    }

    const actorWeights = actor.getWeights();
    const criticWeights = critic.getWeights();
    const actorState = actorOptimizer.getState();
    const criticState = criticOptimizer.getState();

    const size = batch.length;
    const chosenIndices = tf.tensor1d(
      batch.map((transition) => transition.chosenIndex),
      'int32',
    );
    const oldLogProbs = tf.tensor2d(
      batch.map((transition) => transition.behaviorLogProb),
      [size, 1],
    );
    const advantageTensor = tf.tensor1d(advantages);
    const rewardTensor = tf.tensor1d(rewards);
    const referenceLogits = initialActor.logits(candidateFeatures);
    const actorLosses: number[] = [];
    const criticLosses: number[] = [];
    const clipFractions: number[] = [];
    const actorGradNorms: number[] = [];
    const criticGradNorms: number[] = [];
    let skipReason: string | undefined;
    try {
      for (let epoch = 0; epoch < this.options.epochs && skipReason === undefined; epoch++) {
        let clipFraction = 0;
        const actorStep = tf.variableGrads(() => {
          const terms = candidateActorLoss({
            actor,
            candidateFeatures,
            chosenIndices,
            oldLogProbs,
            advantages: advantageTensor,
            referenceLogits,
            clipLow: this.options.clipLow,
            clipHigh: this.options.clipHigh,
            klCoefficient: this.options.klCoefficient,
          });
          clipFraction = terms.clipFraction;
          return terms.loss;
        }, [...actor.trainableVariables()]);
        const actorLoss = actorStep.value.dataSync()[0]!;
        actorStep.value.dispose();
        if (!Number.isFinite(actorLoss)) {
          skipReason = `actor loss ${actorLoss} at epoch ${epoch}`;
        } else {
          const step = actorOptimizer.applyGradients(actorStep.grads);
          actorGradNorms.push(step.gradNorm);
          if (step.skipped) skipReason = `actor gradient norm ${step.gradNorm} at epoch ${epoch}`;
        }
        tf.dispose(Object.values(actorStep.grads));
        actorLosses.push(actorLoss);
        clipFractions.push(clipFraction);
        if (skipReason !== undefined) break;

        const criticStep = tf.variableGrads(
          () =>
            tf.losses.meanSquaredError(rewardTensor, critic.predict(criticFeatures)) as tf.Scalar,
          [...critic.trainableVariables()],
        );
        const criticLoss = criticStep.value.dataSync()[0]!;
        criticStep.value.dispose();
        if (!Number.isFinite(criticLoss)) {
          skipReason = `critic loss ${criticLoss} at epoch ${epoch}`;
        } else {
          const step = criticOptimizer.applyGradients(criticStep.grads);
          criticGradNorms.push(step.gradNorm);
          if (step.skipped) skipReason = `critic gradient norm ${step.gradNorm} at epoch ${epoch}`;
        }
        tf.dispose(Object.values(criticStep.grads));
        criticLosses.push(criticLoss);
      }
      if (skipReason !== undefined) {
        actor.setWeights(actorWeights);
        critic.setWeights(criticWeights);
        actorOptimizer.setState(actorState);
        criticOptimizer.setState(criticState);
      }
    } finally {
      tf.dispose([chosenIndices, oldLogProbs, advantageTensor, rewardTensor, referenceLogits]);
    }
    const applied = skipReason === undefined;
    if (applied) this.updateCount++;
    // KL after the update (or after the rollback), the figure a caller watches for drift.
    const klToInitial = tf.tidy(() =>
      tf.mean(
        exactKlTensor({
          logits: actor.logits(candidateFeatures),
          refLogits: initialActor.logits(candidateFeatures),
        }),
      ),
    );
    const kl = klToInitial.dataSync()[0]!;
    klToInitial.dispose();
    return {
      actorLoss: actorLosses[0] ?? Number.NaN,
      criticLoss: criticLosses[0] ?? Number.NaN,
      applied,
      ...(skipReason === undefined ? {} : { skipReason }),
      metrics: {
        ...baseMetrics,
        meanAdvantage: mean(advantages),
        meanAbsoluteAdvantage: mean(advantages.map(Math.abs)),
        klToInitial: kl,
        clipFraction: mean(clipFractions),
        actorLossLastEpoch: actorLosses.at(-1) ?? Number.NaN,
        criticLossLastEpoch: criticLosses.at(-1) ?? Number.NaN,
        actorGradNorm: actorGradNorms.at(-1) ?? Number.NaN,
        criticGradNorm: criticGradNorms.at(-1) ?? Number.NaN,
        epochsApplied: applied ? this.options.epochs : 0,
      },
    };
  }
}

/**
 * Creates a {@link ClippedCandidateUpdateRule} from validated options (defaults in
 * {@link CandidateUpdateRuleOptionsSchema}) and, optionally, your own optimizers or
 * initial actor.
 *
 * @throws ValidationError naming the bad field, e.g. `epochs`.
 * @example
 * ```ts
 * const updateRule = createCandidateUpdateRule({ advantage: 'group', epochs: 4, klCoefficient: 0.01 });
 * const custom = createCandidateUpdateRule({}, { actorOptimizer: createOptimizer({ type: 'adamw',
 *   learningRate: 1e-3, variables: actor.namedVariables() }) });
 * ```
 */
export function createCandidateUpdateRule(
  options: CandidateUpdateRuleOptionsInput = {},
  parts: CandidateUpdateRuleParts = {},
): ClippedCandidateUpdateRule {
  return new ClippedCandidateUpdateRule(options, parts);
}
