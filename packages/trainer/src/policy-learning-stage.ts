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
    const order = options.random.shuffle(trajectories.map((_, index) => index));
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
  };
}
