import {
  InvalidArgumentError,
  type KlEstimator,
  NonFiniteError,
  type ReferenceModel,
  type Trajectory,
} from '@cohort/core';
import type { TrainablePolicy } from './trainable-policy';

/** What the reference-scoring stage hands on. */
export interface ReferenceScores {
  /** `[trajectory][position]` log-probs of the frozen reference; absent when the KL term is off. */
  refLogProbsPerToken?: number[][];
  /** `[trajectory][position]` KL estimate of each sampled token (0 off the loss mask); empty when off. */
  klPerToken: number[][];
  /** Sum of `klPerToken` over each trajectory's sampled tokens; empty when off. */
  klSumPerTrajectory: number[];
  /** Mean over trajectories of the per-token mean KL: the `klToReference` metric (0 when off). */
  klToReference: number;
}

/**
 * The reference-scoring stage: log-probs of the sampled tokens under the frozen
 * reference, and the per-token KL of the behaviour policy to it with the
 * trainer's {@link KlEstimator} (a built-in one, Schulman 2020, "Approximating
 * KL divergence": k1 = log p - log q, k2 = (log p - log q)^2 / 2,
 * k3 = q/p - 1 - log(q/p); or the user's own), the same instance as the loss
 * uses, so the metric, the reward penalty and the loss agree.
 *
 * @example
 * ```ts
 * const scores = await scoreReference({ referenceModel, trajectories, temperature: 1, estimator: createKlEstimator({ name: 'k3' }) });
 * ```
 */
export async function scoreReference(options: {
  referenceModel: ReferenceModel;
  trajectories: readonly Trajectory[];
  temperature: number;
  estimator: KlEstimator;
}): Promise<ReferenceScores> {
  const { trajectories } = options;
  if (trajectories.length === 0)
    return { klPerToken: [], klSumPerTrajectory: [], klToReference: 0 };
  const refLogProbsPerToken = await options.referenceModel.referenceLogProbs({
    sequences: trajectories.map((trajectory) => trajectory.tokenIds),
    temperature: options.temperature,
  });
  const klPerTokenRows = trajectories.map((trajectory, row) => {
    const positions: number[] = [];
    trajectory.lossMask.forEach((mask, position) => {
      if (mask === 1) positions.push(position);
    });
    const masked = options.estimator.estimate({
      logProbs: positions.map((position) => trajectory.behaviorLogProbs[position]!),
      refLogProbs: positions.map((position) => refLogProbsPerToken[row]![position]!),
    });
    if (masked.length !== positions.length) {
      throw new InvalidArgumentError({
        argument: `estimator '${options.estimator.name}'`,
        value: `${masked.length} values`,
        message: `must give one value per sampled token (${positions.length} in trajectory ${trajectory.id})`,
      });
    }
    const bad = masked.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) {
      throw new NonFiniteError({
        quantity: `klPerToken[${positions[bad]}]`,
        value: masked[bad]!,
        context: `trajectory ${trajectory.id}, KL estimator '${options.estimator.name}'`,
      });
    }
    const perToken = new Array<number>(trajectory.tokenIds.length).fill(0);
    positions.forEach((position, index) => {
      perToken[position] = masked[index]!;
    });
    return {
      perToken,
      sum: masked.reduce((sum, value) => sum + value, 0),
      count: positions.length,
    };
  });
  const klToReference =
    klPerTokenRows.reduce((sum, row) => sum + row.sum / Math.max(1, row.count), 0) /
    klPerTokenRows.length;
  return {
    refLogProbsPerToken,
    klPerToken: klPerTokenRows.map((row) => row.perToken),
    klSumPerTrajectory: klPerTokenRows.map((row) => row.sum),
    klToReference,
  };
}

/**
 * The reference-scoring stage of one training step: lets the policy prepare
 * for the step's sequences (a proxy-tuned policy caches its base model's
 * logits, which its reference shares), then scores them with
 * {@link scoreReference} when there is a reference and the KL term is active;
 * empty scores otherwise. Returns the scores and the seconds they took.
 *
 * @example
 * ```ts
 * const { scores, seconds } = await scoreStepReference({ policy, referenceModel, trajectories,
 *   klActive: true, temperature: 1, estimator });
 * ```
 */
export async function scoreStepReference(options: {
  policy: TrainablePolicy;
  referenceModel: ReferenceModel | undefined;
  trajectories: readonly Trajectory[];
  /** Whether the KL coefficient is non-zero or may become so (an adaptive controller). */
  klActive: boolean;
  temperature: number;
  estimator: KlEstimator;
}): Promise<{ scores: ReferenceScores; seconds: number }> {
  const start = performance.now();
  const { policy, referenceModel, trajectories } = options;
  if (policy.prepare && trajectories.length > 0) {
    await policy.prepare({ sequences: trajectories.map((trajectory) => trajectory.tokenIds) });
  }
  const scores: ReferenceScores =
    referenceModel && options.klActive
      ? await scoreReference({
          referenceModel,
          trajectories,
          temperature: options.temperature,
          estimator: options.estimator,
        })
      : { klPerToken: [], klSumPerTrajectory: [], klToReference: 0 };
  return { scores, seconds: (performance.now() - start) / 1000 };
}
