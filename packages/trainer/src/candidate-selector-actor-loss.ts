import type { CandidateActor } from '@cohort/core';
import { exactKlTensor } from '@cohort/kl';
import { clippedSurrogateLoss } from '@cohort/objectives';
import * as tf from '@tensorflow/tfjs';

/** Inputs of {@link candidateActorLoss}. */
export interface CandidateActorLossOptions {
  actor: CandidateActor<tf.Tensor, tf.Variable>;
  /** `[B][K][featureSize]`, as the actor saw them when it chose. */
  candidateFeatures: readonly (readonly (readonly number[])[])[];
  /** `[B]` int32 index of the chosen candidate per transition. */
  chosenIndices: tf.Tensor;
  /** `[B, 1]` behavior log-probabilities of the chosen candidates (no gradient). */
  oldLogProbs: tf.Tensor;
  /** `[B]` advantages (no gradient). */
  advantages: tf.Tensor;
  /** `[B, K]` logits of the frozen initial actor. */
  referenceLogits: tf.Tensor;
  clipLow: number;
  clipHigh: number;
  /** beta, the weight of the KL term. */
  klCoefficient: number;
}

/** The loss as a differentiable scalar and its diagnostics as numbers. */
export interface CandidateActorLossResult {
  loss: tf.Scalar;
  /** The clipped-surrogate term alone. */
  policyLoss: number;
  /** `mean_i KL(pi(.|q_i) || pi_initial(.|q_i))` over the K candidates. */
  klToInitial: number;
  /** Fraction of transitions whose ratio the clip cut (low and high). */
  clipFraction: number;
  /** Mean of `pi / pi_behavior` over the chosen candidates. */
  meanRatio: number;
}

/**
 * The actor's loss for one batch of candidate choices:
 *
 * `L = mean_i -min(rho_i A_i, clip(rho_i, 1 - clipLow, 1 + clipHigh) A_i)
 *      + beta mean_i KL(pi(.|q_i) || pi_0(.|q_i))`
 *
 * with `rho_i = pi(k_i | q_i) / pi_behavior(k_i | q_i)` the ratio on the chosen
 * candidate (PPO, Schulman et al. 2017, eq. 7, through `clippedSurrogateLoss`
 * with one "token" per decision), `pi = softmax(logits)` over the K candidates,
 * and the KL computed exactly over the K candidates to the frozen initial actor
 * `pi_0` (`exactKlTensor`), not estimated from the sample.
 *
 * @example
 * ```ts
 * const { grads } = tf.variableGrads(() => candidateActorLoss({ actor, candidateFeatures,
 *   chosenIndices, oldLogProbs, advantages, referenceLogits, clipLow: 0.2, clipHigh: 0.2,
 *   klCoefficient: 0.01 }).loss, [...actor.trainableVariables()]);
 * ```
 */
export function candidateActorLoss(options: CandidateActorLossOptions): CandidateActorLossResult {
  const size = options.candidateFeatures.length;
  const logits = options.actor.logits(options.candidateFeatures);
  const count = logits.shape[1] ?? 0;
  const logProbs = tf
    .sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(options.chosenIndices, count)), 1)
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
  const loss = tf.add(surrogate.loss, tf.mul(klMean, options.klCoefficient)) as tf.Scalar;
  return {
    loss,
    policyLoss: surrogate.metrics.policyLoss,
    klToInitial: klMean.dataSync()[0]!,
    clipFraction: surrogate.metrics.clipFractionLow + surrogate.metrics.clipFractionHigh,
    meanRatio: surrogate.metrics.meanRatio,
  };
}
