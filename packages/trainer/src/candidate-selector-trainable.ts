import type { CandidateActor, RewardCritic } from '@cohort/core';
import type { WeightMap } from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';

/**
 * A candidate actor the candidate update rule can train: the core `CandidateActor`
 * over tfjs tensors, with stably named variables (for its optimizer's state),
 * weights as a {@link WeightMap} (to roll a failed update back) and a `clone`
 * (the frozen initial actor of the KL term). {@link MlpCandidateActor} is one.
 */
export interface TrainableCandidateActor extends CandidateActor<tf.Tensor, tf.Variable> {
  namedVariables(): Record<string, tf.Variable>;
  getWeights(): WeightMap;
  setWeights(weights: WeightMap): void;
  clone(): TrainableCandidateActor;
}

/** A reward critic the candidate update rule can train; {@link MlpRewardCritic} is one. */
export interface TrainableRewardCritic extends RewardCritic<tf.Tensor, tf.Variable> {
  namedVariables(): Record<string, tf.Variable>;
  getWeights(): WeightMap;
  setWeights(weights: WeightMap): void;
}
