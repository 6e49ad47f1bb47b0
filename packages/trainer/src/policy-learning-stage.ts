import type { Objective, ObjectiveMetrics, Random, Trajectory } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import type { PolicyOptimizer, TrainablePolicy } from './trainable-policy';
import { buildTrajectoryBatch } from './trajectory-batch';

/** What the policy-learning stage reports. Means are over the minibatches whose loss was finite. */
export interface PolicyLearningResult {
  loss: number;
  entropy: number;
  clipFractionLow: number;
  clipFractionHigh: number;
  approxKlToOld: number;
  /** Mean of every metric the objective reported, by the objective's own names. */
  objectiveMetrics: Record<string, number>;
  /** Gradient norm and learning rate of the last optimizer step. */
  gradNorm: number;
  learningRate: number;
  /** Minibatches skipped for a non-finite loss plus optimizer steps skipped for a non-finite gradient. */
  skipped: number;
  /** Optimizer steps applied; each one raises the policy version. */
  applied: number;
  /** `[trajectory][position]` entropy of the policy at the first pass (0 where not computed). */
  entropyPerToken: number[][];
  /**
   * With `recomputeBehaviorLogProbs`: largest and mean `|logp_sampler - logp_learner|`
   * over the sampled tokens, the learner's log-probs taken before the first update.
   */
  logProbMismatch?: { max: number; mean: number; tokenCount: number };
}

/** Options of {@link learnPolicy}. */
export interface LearnPolicyOptions {
  policy: TrainablePolicy;
  optimizer: PolicyOptimizer;
  objective: Objective<tf.Tensor>;
  trajectories: readonly Trajectory[];
  advantagesPerToken: readonly (readonly number[])[];
  /** Reference log-probs, when the KL term is in the loss. */
  refLogProbsPerToken?: readonly (readonly number[])[];
  klCoefficient: number;
  epochs: number;
  minibatchSize: number;
  /** Minibatches whose gradients are averaged into one optimizer step. */
  gradientAccumulationSteps: number;
  /** Leave trajectories with a truncated agent turn out of the loss (DAPO overlong filtering). */
  maskTruncated: boolean;
  temperature: number;
  /** The trainer's random stream, for the minibatch order. */
  random: Random;
  /**
   * Use the learner's own log-probs, taken before the first update, as the
   * old-policy log-probs instead of the sampler's (verl recomputes them so
   * that an inference engine's rounding never enters the ratio). Rows of the
   * first accumulation window take them from that window's own forward pass,
   * which runs before any update; the rest are scored in a no-gradient pass
   * first. Default false.
   */
  recomputeBehaviorLogProbs?: boolean;
  warn: (message: string) => void;
}

/**
 * The policy-learning stage: `epochs` passes of shuffled minibatches through
 * any {@link Objective}; the gradients of `gradientAccumulationSteps`
 * minibatches are averaged into one optimizer step. A minibatch with a
 * non-finite loss is skipped before it reaches the gradients or the loss
 * means, and a non-finite gradient makes the optimizer skip its step: neither
 * reaches the weights.
 *
 * @example
 * ```ts
 * const result = learnPolicy({ policy, optimizer, objective, trajectories, advantagesPerToken,
 *   klCoefficient: 0, epochs: 1, minibatchSize: 16, gradientAccumulationSteps: 1,
 *   maskTruncated: false, temperature: 1, random, warn: console.warn });
 * ```
 */
export function learnPolicy(options: LearnPolicyOptions): PolicyLearningResult {
  const { trajectories, policy, epochs, minibatchSize, gradientAccumulationSteps } = options;
  const includeInLoss = trajectories.map(
    (trajectory) => !(options.maskTruncated && trajectory.truncated),
  );
  const entropyPerToken = trajectories.map((trajectory) =>
    new Array<number>(trajectory.tokenIds.length).fill(0),
  );
  const variables = policy.trainableVariables() as tf.Variable[];
  // Every epoch's order is drawn up front (the same draws, in the same order, as drawing per epoch),
  // so that the rows the first optimizer step sees are known before it runs.
  const orders = Array.from({ length: epochs }, () =>
    options.random.shuffle(trajectories.map((_, index) => index)),
  );
  const recomputed = options.recomputeBehaviorLogProbs
    ? scoreOutsideFirstWindow({
        policy,
        trajectories,
        firstWindow: orders[0]?.slice(0, minibatchSize * gradientAccumulationSteps) ?? [],
        minibatchSize,
        temperature: options.temperature,
      })
    : undefined;
  const metricSums: Record<string, number> = {};
  let metricCount = 0;
  let skipped = 0;
  let applied = 0;
  let lastGradNorm = 0;
  let lastLearningRate = 0;
  let accumulated: Record<string, tf.Tensor> | undefined;
  let accumulatedCount = 0;

  const flush = () => {
    if (!accumulated) return;
    const gradients = accumulated;
    if (accumulatedCount > 1) {
      for (const name of Object.keys(gradients)) {
        const scaled = tf.div(gradients[name]!, accumulatedCount);
        gradients[name]!.dispose();
        gradients[name] = scaled;
      }
    }
    const result = options.optimizer.applyGradients(gradients);
    for (const gradient of Object.values(gradients)) gradient.dispose();
    accumulated = undefined;
    accumulatedCount = 0;
    lastGradNorm = result.gradNorm;
    lastLearningRate = result.learningRate;
    if (result.skipped) {
      skipped++;
      options.warn(
        `non-finite gradient (norm ${result.gradNorm}): update skipped, weights unchanged`,
      );
    } else {
      applied++;
      policy.version++;
    }
  };

  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = orders[epoch] ?? [];
    for (let start = 0; start < order.length; start += minibatchSize) {
      const rows = order.slice(start, start + minibatchSize);
      const batch = buildTrajectoryBatch({
        trajectories: rows.map((row) => trajectories[row]!),
        advantagesPerToken: rows.map((row) => options.advantagesPerToken[row]!),
        ...(options.refLogProbsPerToken
          ? { refLogProbs: rows.map((row) => options.refLogProbsPerToken![row]!) }
          : {}),
        includeInLoss: rows.map((row) => includeInLoss[row]!),
      });
      if (!batch.lossMask.some((value) => value > 0)) continue;
      let metrics: ObjectiveMetrics = {};
      const shape: [number, number] = [batch.batchSize, batch.maxLength];
      const { value, grads } = tf.variableGrads(() => {
        const output = policy.tokenLogProbs({
          sequences: batch.sequences,
          temperature: options.temperature,
          withEntropy: true,
        });
        if (epoch === 0 && output.entropy) {
          const entropyRows = output.entropy.arraySync() as number[][];
          rows.forEach((row, offset) => {
            const target = entropyPerToken[row]!;
            for (let position = 0; position < target.length; position++)
              target[position] = entropyRows[offset]?.[position] ?? 0;
          });
        }
        if (recomputed) {
          fillFromForwardPass(recomputed, rows, output.logProbs, trajectories);
          overwriteOldLogProbs(batch.oldLogProbs, batch.lossMask, rows, recomputed, shape[1]);
        }
        const result = options.objective.compute(
          {
            logProbs: output.logProbs,
            oldLogProbs: tf.tensor2d(batch.oldLogProbs, shape),
            advantages: tf.tensor2d(batch.advantages, shape),
            lossMask: tf.tensor2d(batch.lossMask, shape),
            ...(batch.refLogProbs ? { refLogProbs: tf.tensor2d(batch.refLogProbs, shape) } : {}),
            ...(output.entropy ? { entropy: output.entropy } : {}),
          },
          { klCoefficient: batch.refLogProbs ? options.klCoefficient : 0 },
        );
        metrics = result.metrics;
        return result.loss as tf.Scalar;
      }, variables);
      const lossValue = value.dataSync()[0]!;
      value.dispose();
      if (!Number.isFinite(lossValue)) {
        for (const gradient of Object.values(grads)) gradient.dispose();
        skipped++;
        options.warn(`non-finite loss ${lossValue}: minibatch skipped`);
        continue;
      }
      for (const [name, metric] of Object.entries({ ...metrics, loss: lossValue }))
        if (metric !== undefined) metricSums[name] = (metricSums[name] ?? 0) + metric;
      metricCount++;
      if (!accumulated) {
        accumulated = grads;
      } else {
        for (const [name, gradient] of Object.entries(grads)) {
          const sum = tf.add(accumulated[name]!, gradient);
          accumulated[name]!.dispose();
          gradient.dispose();
          accumulated[name] = sum;
        }
      }
      accumulatedCount++;
      if (accumulatedCount >= gradientAccumulationSteps) flush();
    }
  }
  flush();
  const means: Record<string, number> = {};
  for (const [name, sum] of Object.entries(metricSums))
    means[name] = sum / Math.max(1, metricCount);
  return {
    loss: means.loss ?? 0,
    entropy: means.entropy ?? 0,
    clipFractionLow: means.clipFractionLow ?? 0,
    clipFractionHigh: means.clipFractionHigh ?? 0,
    approxKlToOld: means.approxKlToOld ?? 0,
    objectiveMetrics: means,
    gradNorm: lastGradNorm,
    learningRate: lastLearningRate,
    skipped,
    applied,
    entropyPerToken,
    ...(recomputed ? { logProbMismatch: logProbMismatch(trajectories, recomputed) } : {}),
  };
}

/** Learner log-probs of the rows outside the first accumulation window, scored without gradient before any update. */
function scoreOutsideFirstWindow(options: {
  policy: TrainablePolicy;
  trajectories: readonly Trajectory[];
  firstWindow: readonly number[];
  minibatchSize: number;
  temperature: number;
}): (number[] | undefined)[] {
  const { trajectories } = options;
  const recomputed = new Array<number[] | undefined>(trajectories.length).fill(undefined);
  const inWindow = new Set(options.firstWindow);
  const rest = trajectories.map((_, index) => index).filter((index) => !inWindow.has(index));
  for (let start = 0; start < rest.length; start += options.minibatchSize) {
    const rows = rest.slice(start, start + options.minibatchSize);
    const values = tf.tidy(() => {
      const output = options.policy.tokenLogProbs({
        sequences: rows.map((row) => trajectories[row]!.tokenIds),
        temperature: options.temperature,
      });
      return output.logProbs.arraySync() as number[][];
    });
    rows.forEach((row, offset) => {
      recomputed[row] = values[offset]!.slice(0, trajectories[row]!.tokenIds.length);
    });
  }
  return recomputed;
}

/** Keeps the forward pass's values (as constants) for rows not scored yet: the weights have not changed since sampling. */
function fillFromForwardPass(
  recomputed: (number[] | undefined)[],
  rows: readonly number[],
  logProbs: tf.Tensor,
  trajectories: readonly Trajectory[],
): void {
  if (rows.every((row) => recomputed[row] !== undefined)) return;
  const values = logProbs.arraySync() as number[][];
  rows.forEach((row, offset) => {
    recomputed[row] ??= values[offset]!.slice(0, trajectories[row]!.tokenIds.length);
  });
}

/** Replaces the batch's sampler log-probs by the learner's where the loss mask is 1. */
function overwriteOldLogProbs(
  oldLogProbs: Float32Array,
  lossMask: Float32Array,
  rows: readonly number[],
  recomputed: readonly (number[] | undefined)[],
  maxLength: number,
): void {
  rows.forEach((row, offset) => {
    const values = recomputed[row];
    if (values === undefined) return;
    for (let position = 0; position < values.length; position++) {
      const index = offset * maxLength + position;
      if (lossMask[index]! > 0) oldLogProbs[index] = values[position]!;
    }
  });
}

/** Largest and mean `|behaviour - learner|` log-prob over every sampled token that was recomputed. */
function logProbMismatch(
  trajectories: readonly Trajectory[],
  recomputed: readonly (number[] | undefined)[],
): { max: number; mean: number; tokenCount: number } {
  let max = 0;
  let total = 0;
  let tokenCount = 0;
  trajectories.forEach((trajectory, row) => {
    const values = recomputed[row];
    if (values === undefined) return;
    trajectory.lossMask.forEach((masked, position) => {
      if (masked !== 1) return;
      const difference = Math.abs(trajectory.behaviorLogProbs[position]! - values[position]!);
      max = Math.max(max, difference);
      total += difference;
      tokenCount++;
    });
  });
  return { max, mean: tokenCount === 0 ? 0 : total / tokenCount, tokenCount };
}
