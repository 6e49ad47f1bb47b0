import type { Trajectory } from '@cohort/core';
import type { CriticLearningResult } from './critic-learning-stage';
import type { PolicyLearningResult } from './policy-learning-stage';
import type { RolloutCollection } from './rollout-collection-stage';
import { mean, summarize } from './statistics';
import type { TrainablePolicy } from './trainable-policy';
import type { TrajectoryRecord } from './trajectory-record';

/** What one step produced: its metrics and one record per trajectory it learned from. */
export interface StepResult {
  metrics: StepMetrics;
  records: TrajectoryRecord[];
  /** Mean of every metric the objective reported, by its own names (a user objective's too). */
  objectiveMetrics: Record<string, number>;
}

/** The sampler's own weight version, for a policy that samples on another engine (`OnnxSampledPolicy`). */
export function samplerVersionOf(policy: TrainablePolicy): number {
  const { samplerVersion } = policy as { samplerVersion?: unknown };
  return typeof samplerVersion === 'number' ? samplerVersion : policy.version;
}

/** Numbers reported after each training step. */
export interface StepMetrics {
  step: number;
  episodes: number;
  rewardMean: number;
  rewardStd: number;
  /** Mean (over trajectories where it applied) of each reward function. */
  rewardMeanByFunction: Record<string, number>;
  successRate: number;
  zeroSpreadGroupFraction: number;
  droppedGroups: number;
  refills: number;
  /** Groups refused because they were sampled more than `maxPolicyLag` versions ago. */
  staleGroups: number;
  /** Episodes a rollout source dropped as sampled more than `maxPolicyLag` versions ago. */
  staleEpisodes: number;
  /** Episodes a rollout source gave up on because their reward never came. */
  timedOutEpisodes: number;
  /** Mean per-token KL of the sampled tokens to the reference, with the configured estimator. */
  klToReference: number;
  klCoefficient: number;
  entropy: number;
  clipFractionLow: number;
  clipFractionHigh: number;
  approxKlToOld: number;
  loss: number;
  gradNorm: number;
  learningRate: number;
  skippedUpdates: number;
  appliedUpdates: number;
  completionLengthMean: number;
  completionLengthMax: number;
  truncatedFraction: number;
  sampledTokens: number;
  tokensPerSecond: number;
  stepSeconds: number;
  timings: { rollout: number; scoring: number; reference: number; update: number };
  rewardFailures: number;
  /** PPO mode: the value loss and its clip fraction (0 otherwise). */
  valueLoss: number;
  valueClipFraction: number;
  policyVersion: number;
  /**
   * Policy version of the weights the sampler held after this step's rollouts:
   * the version last exported by a policy that samples on another engine, else
   * the policy version.
   */
  samplerVersion: number;
  /**
   * With `behaviorLogProbs: 'recompute'`: largest and mean `|logp_sampler - logp_learner|`
   * over the sampled tokens (0 otherwise).
   */
  logProbMismatchMax: number;
  logProbMismatchMean: number;
}

/** The names of the numeric step metrics, for displays and reports that pick metrics by name. */
export type StepMetricName = NumericFieldName<StepMetrics>;

/** The names of a record's numeric fields: what a report may plot, checked by the compiler. */
export type NumericFieldName<Record> = {
  [K in keyof Record]: Record[K] extends number ? K : never;
}[keyof Record] &
  string;

/** Held-out evaluation results. */
export interface EvaluationMetrics {
  step: number;
  episodes: number;
  rewardMean: number;
  rewardStd: number;
  successRate: number;
  rewardMeanByFunction: Record<string, number>;
  /** A few conversations, for reports. */
  samples: {
    scenarioId: string;
    reward: number;
    endReason: string;
    messages: Trajectory['messages'];
  }[];
}

/** Mean of each reward function over the trajectories where it applied (null: did not apply or failed). */
export function meanByFunction(trajectories: readonly Trajectory[]): Record<string, number> {
  const sums: Record<string, { sum: number; count: number }> = {};
  for (const trajectory of trajectories) {
    for (const [name, value] of Object.entries(trajectory.rewardsByFunction)) {
      if (value === null) continue;
      const entry = sums[name] ?? { sum: 0, count: 0 };
      sums[name] = entry;
      entry.sum += value;
      entry.count++;
    }
  }
  return Object.fromEntries(
    Object.entries(sums).map(([name, { sum, count }]) => [name, sum / count]),
  );
}

/** Reward, success and length figures of a set of trajectories. */
export function trajectoryFigures(trajectories: readonly Trajectory[]) {
  const rewardStats = summarize(trajectories.map((trajectory) => trajectory.totalReward));
  const agentTurnLengths = trajectories.flatMap((trajectory) =>
    trajectory.turns
      .filter((turn) => turn.role === 'assistant')
      .map((turn) => turn.tokenEnd - turn.tokenStart),
  );
  return {
    rewardMean: rewardStats.mean,
    rewardStd: rewardStats.std,
    rewardMeanByFunction: meanByFunction(trajectories),
    successRate: mean(
      trajectories.map((trajectory) => (trajectory.endReason === 'success' ? 1 : 0)),
    ),
    completionLengthMean: mean(agentTurnLengths),
    completionLengthMax: agentTurnLengths.length === 0 ? 0 : Math.max(...agentTurnLengths),
    truncatedFraction: mean(trajectories.map((trajectory) => (trajectory.truncated ? 1 : 0))),
  };
}

/**
 * The metrics stage: {@link StepMetrics} built from each stage's typed output.
 *
 * @example
 * ```ts
 * const metrics = buildStepMetrics({ step: 1, episodes: 16, trajectories, collection, staleGroups: 0,
 *   klToReference: 0.01, klCoefficient: 0.04, policy, critic, policyVersion: 1,
 *   timings: { reference: 0.1, update: 0.5 }, stepSeconds: 2 });
 * ```
 */
export function buildStepMetrics(options: {
  step: number;
  episodes: number;
  trajectories: readonly Trajectory[];
  collection: RolloutCollection;
  staleGroups: number;
  klToReference: number;
  klCoefficient: number;
  policy: PolicyLearningResult | undefined;
  critic: CriticLearningResult | undefined;
  policyVersion: number;
  /** Default: `policyVersion`. */
  samplerVersion?: number;
  timings: { reference: number; update: number };
  stepSeconds: number;
}): StepMetrics {
  const { collection, policy, critic } = options;
  const figures = trajectoryFigures(options.trajectories);
  return {
    step: options.step,
    episodes: options.episodes,
    rewardMean: figures.rewardMean,
    rewardStd: figures.rewardStd,
    rewardMeanByFunction: figures.rewardMeanByFunction,
    successRate: figures.successRate,
    zeroSpreadGroupFraction: collection.zeroSpreadGroupFraction,
    droppedGroups: collection.droppedGroups,
    refills: collection.refills,
    staleGroups: options.staleGroups,
    staleEpisodes: collection.staleEpisodes ?? 0,
    timedOutEpisodes: collection.timedOutEpisodes ?? 0,
    klToReference: options.klToReference,
    klCoefficient: options.klCoefficient,
    entropy: policy?.entropy ?? 0,
    clipFractionLow: policy?.clipFractionLow ?? 0,
    clipFractionHigh: policy?.clipFractionHigh ?? 0,
    approxKlToOld: policy?.approxKlToOld ?? 0,
    loss: policy?.loss ?? 0,
    gradNorm: policy?.gradNorm ?? 0,
    learningRate: policy?.learningRate ?? 0,
    skippedUpdates: policy?.skipped ?? 0,
    appliedUpdates: policy?.applied ?? 0,
    completionLengthMean: figures.completionLengthMean,
    completionLengthMax: figures.completionLengthMax,
    truncatedFraction: figures.truncatedFraction,
    sampledTokens: collection.sampledTokens,
    tokensPerSecond: collection.sampledTokens / Math.max(1e-9, collection.timings.rollout),
    stepSeconds: options.stepSeconds,
    timings: {
      rollout: collection.timings.rollout,
      scoring: collection.timings.scoring,
      reference: options.timings.reference,
      update: options.timings.update,
    },
    rewardFailures: collection.failures.length,
    valueLoss: critic?.loss ?? 0,
    valueClipFraction: critic?.clipFraction ?? 0,
    policyVersion: options.policyVersion,
    samplerVersion: options.samplerVersion ?? options.policyVersion,
    logProbMismatchMax: policy?.logProbMismatch?.max ?? 0,
    logProbMismatchMean: policy?.logProbMismatch?.mean ?? 0,
  };
}
