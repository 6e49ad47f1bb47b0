import { groupRelativeAdvantages } from '@cohort/advantages';
import {
  type GproOptimizer,
  type GproUpdateResult,
  InvalidArgumentError,
  NonFiniteError,
  parseWithSchema,
  type Transition,
} from '@cohort/core';
import { exactKlTensor } from '@cohort/kl';
import { clippedSurrogateLoss } from '@cohort/objectives';
import { createOptimizer } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import type { MlpCandidateActor, MlpRewardCritic } from './candidate-models';
import {
  type GproOptimizerOptions,
  type GproOptimizerOptionsInput,
  GproOptimizerOptionsSchema,
} from './gpro-optimizer-options';
import type { PolicyOptimizer } from './trainable-policy';

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Group-relative advantages over transitions that share a `groupId` (GRPO). */
export function transitionGroupAdvantages(batch: readonly Transition[]): number[] {
  const groups = new Map<string, number[]>();
  batch.forEach((transition, index) => {
    const key = transition.groupId ?? '';
    const members = groups.get(key) ?? [];
    members.push(index);
    groups.set(key, members);
  });
  const advantages = new Array<number>(batch.length).fill(0);
  for (const members of groups.values()) {
    const { advantages: groupAdvantages } = groupRelativeAdvantages({
      rewards: members.map((index) => batch[index]!.reward),
      groupSize: members.length,
    });
    members.forEach((index, position) => {
      advantages[index] = groupAdvantages[position]!;
    });
  }
  return advantages;
}

/**
 * The actor's loss for one batch: the PPO clipped surrogate on the log-probability
 * of the chosen candidate, `-min(rho A, clip(rho, 1 - clipLow, 1 + clipHigh) A)`
 * with `rho = pi(chosen) / pi_behavior(chosen)`, averaged over the batch, plus
 * `klCoefficient * KL(pi || pi_initial)` computed exactly over the K candidates.
 */
export function gproActorLoss(options: {
  actor: MlpCandidateActor;
  candidateFeatures: readonly (readonly (readonly number[])[])[];
  /** One-hot `[B, K]` of the chosen candidates. */
  chosen: tf.Tensor;
  /** `[B, 1]` behavior log-probabilities. */
  oldLogProbs: tf.Tensor;
  /** `[B]`. */
  advantages: tf.Tensor;
  /** `[B, K]` logits of the initial actor. */
  referenceLogits: tf.Tensor;
  clipLow: number;
  clipHigh: number;
  klCoefficient: number;
}): { loss: tf.Scalar; klToInitial: number; clipFraction: number } {
  const size = options.candidateFeatures.length;
  const logits = options.actor.logits(options.candidateFeatures);
  const logProbs = tf
    .sum(tf.mul(tf.logSoftmax(logits), options.chosen.toFloat()), 1)
    .reshape([size, 1]);
  const surrogate = clippedSurrogateLoss({
    logProbs,
    oldLogProbs: options.oldLogProbs,
    advantages: options.advantages,
    lossMask: tf.ones([size, 1]),
    clipLow: options.clipLow,
    clipHigh: options.clipHigh,
    aggregation: 'token-mean',
    klCoefficient: 0,
  });
  const klMean = tf.mean(exactKlTensor({ logits, refLogits: options.referenceLogits }));
  return {
    loss: tf.add(surrogate.loss, tf.mul(klMean, options.klCoefficient)) as tf.Scalar,
    klToInitial: klMean.dataSync()[0]!,
    clipFraction: surrogate.metrics.clipFractionLow + surrogate.metrics.clipFractionHigh,
  };
}

/**
 * The GPRO update of the candidate selector: every M queries, the actor takes
 * `epochs` clipped policy-gradient steps on the log-probability of the
 * candidates it chose (ratio to the behavior probability, PPO clip), with an
 * exact KL penalty to its initial copy over the K candidates, and the critic
 * regresses the rewards (mean squared error).
 *
 * Rewards must be finite: a NaN or infinite reward is refused with a
 * `NonFiniteError` naming the transition, before any weight changes. A
 * non-finite loss or gradient leaves the weights as they were and reports
 * `applied: false`.
 *
 * @example
 * ```ts
 * const optimizer = createGproOptimizer({ advantage: 'critic', epochs: 2 });
 * const result = await optimizer.update(transitions, actor, critic);
 * ```
 */
export class MlpGproOptimizer implements GproOptimizer<MlpCandidateActor, MlpRewardCritic> {
  readonly options: GproOptimizerOptions;
  private initialActor: MlpCandidateActor | undefined;
  private actorOptimizer: PolicyOptimizer | undefined;
  private criticOptimizer: PolicyOptimizer | undefined;

  constructor(
    options: GproOptimizerOptionsInput = {},
    /** Optimizers to use instead of the configured Adam ones (pluggable). */
    optimizers: { actor?: PolicyOptimizer; critic?: PolicyOptimizer } = {},
  ) {
    this.options = parseWithSchema(GproOptimizerOptionsSchema, options, 'GPRO optimizer options');
    this.actorOptimizer = optimizers.actor;
    this.criticOptimizer = optimizers.critic;
  }

  async update(
    batch: readonly Transition[],
    actor: MlpCandidateActor,
    critic: MlpRewardCritic,
  ): Promise<GproUpdateResult> {
    if (batch.length === 0) {
      throw new InvalidArgumentError({
        argument: 'batch',
        value: [],
        message: 'needs at least one transition',
      });
    }
    batch.forEach((transition, index) => {
      if (!Number.isFinite(transition.reward)) {
        throw new NonFiniteError({
          quantity: `batch[${index}].reward`,
          value: transition.reward,
          context: 'GPRO update',
        });
      }
      if (!Number.isFinite(transition.behaviorLogProb)) {
        throw new NonFiniteError({
          quantity: `batch[${index}].behaviorLogProb`,
          value: transition.behaviorLogProb,
        });
      }
      const count = transition.candidateFeatures.length;
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
    this.initialActor ??= actor.clone();
    this.actorOptimizer ??= createOptimizer({
      ...this.options.actorOptimizer,
      variables: actor.namedVariables(),
    });
    this.criticOptimizer ??= createOptimizer({
      ...this.options.criticOptimizer,
      variables: critic.namedVariables(),
    });

    const rewards = batch.map((transition) => transition.reward);
    const criticFeatures = batch.map(
      (transition) =>
        transition.criticFeatures ?? transition.candidateFeatures[transition.chosenIndex]!,
    );
    let advantages: number[];
    if (this.options.advantage === 'group') {
      advantages = transitionGroupAdvantages(batch);
    } else {
      const predicted = tf.tidy(() => critic.predict(criticFeatures));
      const values = Array.from(predicted.dataSync());
      predicted.dispose();
      const raw = rewards.map((reward, index) => reward - values[index]!);
      const center = mean(raw);
      const spread = Math.sqrt(mean(raw.map((value) => (value - center) ** 2)) + 1e-8);
      advantages = raw.map((value) => (value - center) / spread);
    }

    const size = batch.length;
    const candidateFeatures = batch.map((transition) => transition.candidateFeatures);
    const chosen = tf.tidy(() =>
      tf.oneHot(
        tf.tensor1d(
          batch.map((transition) => transition.chosenIndex),
          'int32',
        ),
        candidateFeatures[0]!.length,
      ),
    );
    const oldLogProbs = tf.tensor2d(
      batch.map((transition) => transition.behaviorLogProb),
      [size, 1],
    );
    const advantageTensor = tf.tensor1d(advantages);
    const referenceLogits = this.initialActor.logits(candidateFeatures);
    const rewardTensor = tf.tensor1d(rewards);
    let applied = true;
    let actorLoss = 0;
    let criticLoss = 0;
    let klToInitial = 0;
    let clipFraction = 0;
    try {
      for (let epoch = 0; epoch < this.options.epochs; epoch++) {
        let kl = 0;
        let clipped = 0;
        const actorStep = tf.variableGrads(() => {
          const terms = gproActorLoss({
            actor,
            candidateFeatures,
            chosen,
            oldLogProbs,
            advantages: advantageTensor,
            referenceLogits,
            clipLow: this.options.clipLow,
            clipHigh: this.options.clipHigh,
            klCoefficient: this.options.klCoefficient,
          });
          kl = terms.klToInitial;
          clipped = terms.clipFraction;
          return terms.loss;
        }, actor.trainableVariables() as tf.Variable[]);
        actorLoss = actorStep.value.dataSync()[0]!;
        actorStep.value.dispose();
        klToInitial = kl;
        clipFraction = clipped;
        const actorResult = Number.isFinite(actorLoss)
          ? this.actorOptimizer.applyGradients(actorStep.grads)
          : undefined;
        tf.dispose(Object.values(actorStep.grads));
        if (!actorResult || actorResult.skipped) applied = false;

        const criticStep = tf.variableGrads(
          () =>
            tf.losses.meanSquaredError(rewardTensor, critic.predict(criticFeatures)) as tf.Scalar,
          critic.trainableVariables() as tf.Variable[],
        );
        criticLoss = criticStep.value.dataSync()[0]!;
        criticStep.value.dispose();
        const criticResult = Number.isFinite(criticLoss)
          ? this.criticOptimizer.applyGradients(criticStep.grads)
          : undefined;
        tf.dispose(Object.values(criticStep.grads));
        if (!criticResult || criticResult.skipped) applied = false;
        if (!applied) break;
      }
    } finally {
      tf.dispose([chosen, oldLogProbs, advantageTensor, referenceLogits, rewardTensor]);
    }
    return {
      actorLoss,
      criticLoss,
      applied,
      metrics: {
        meanReward: mean(rewards),
        meanAbsoluteAdvantage: mean(advantages.map(Math.abs)),
        klToInitial,
        clipFraction,
      },
    };
  }
}

/** Creates the candidate selector's {@link MlpGproOptimizer}. */
export function createGproOptimizer(
  options: GproOptimizerOptionsInput = {},
  optimizers: { actor?: PolicyOptimizer; critic?: PolicyOptimizer } = {},
): MlpGproOptimizer {
  return new MlpGproOptimizer(options, optimizers);
}
