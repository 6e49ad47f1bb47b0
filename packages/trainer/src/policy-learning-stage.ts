import type { Objective, ObjectiveMetrics, Random, Trajectory } from '@cohort/core';
import type { ObjectiveOptions } from '@cohort/objectives';
import type { GptModel, LlamaModel, WeightMap } from '@cohort/tfjs';
import type { ShardGradientLearner } from '@cohort/tfjs/node';
import * as tf from '@tensorflow/tfjs';
import type { PolicyShardExtras, PolicyShardItem, PolicyShardShared } from './policy-shard-loss';
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

/**
 * Sharded gradients for the stage: a {@link DataParallelLearner} whose
 * workers replicate `model` (the policy's own tfjs GPT or Llama-family model,
 * a LoRA model's adapters the only weights that train), or a
 * {@link SequentialShardLearner} that runs the shards in this thread on
 * `model` itself; both import the trainer's policy shard loss, which
 * rebuilds the objective from `objectiveConfig`.
 */
export interface PolicyGradientWorkers {
  learner: ShardGradientLearner;
  model: GptModel | LlamaModel;
  objectiveConfig: ObjectiveOptions;
  padTokenId: number;
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
  /**
   * Compute each minibatch's gradient on these workers instead of in this
   * thread (the same loss, summed over contiguous shards in worker order, so
   * a run is bit-identical for a given worker count). A worker that fails
   * fails the call with its error, after the weights, the optimizer state and
   * the policy version are put back as they were at the start.
   */
  workers?: PolicyGradientWorkers;
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
export async function learnPolicy(options: LearnPolicyOptions): Promise<PolicyLearningResult> {
  const { workers } = options;
  if (workers === undefined) return learnPolicyInOrder(options);
  // The policy's own weights (a LoRA policy's adapters), which is what setWeights restores.
  const weights: WeightMap = options.policy.getWeights();
  const optimizerState = structuredClone(options.optimizer.getState());
  const version = options.policy.version;
  try {
    return await learnPolicyInOrder(options);
  } catch (error) {
    options.policy.setWeights(weights);
    options.optimizer.setState(optimizerState);
    options.policy.version = version;
    throw error;
  }
}

async function learnPolicyInOrder(options: LearnPolicyOptions): Promise<PolicyLearningResult> {
  const { workers } = options;
  // The replicas follow the leader's weights: at the start (they may have been loaded or evolved) and after each applied step.
  let replicasStale = true;
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
    ? await scoreOutsideFirstWindow({
        policy,
        ...(options.workers === undefined ? {} : { workers: options.workers }),
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
      replicasStale = true;
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
      let lossValue: number;
      let grads: Record<string, tf.Tensor>;
      if (workers) {
        if (replicasStale) {
          await workers.learner.setWeights(workers.model);
          replicasStale = false;
        }
        if (recomputed)
          overwriteOldLogProbs(batch.oldLogProbs, batch.lossMask, rows, recomputed, shape[1]);
        const reply = await workers.learner.computeGradients<PolicyShardItem, PolicyShardShared>({
          items: shardItems(batch, rows, recomputed),
          shared: {
            objective: workers.objectiveConfig,
            klCoefficient: options.klCoefficient,
            temperature: options.temperature,
            padTokenId: workers.padTokenId,
            rowCount: batch.batchSize,
            nonEmptyRowCount: rows.filter((_, offset) =>
              batch.lossMask
                .subarray(offset * shape[1], (offset + 1) * shape[1])
                .some((value) => value > 0),
            ).length,
            tokenCount: batch.lossMask.reduce((sum, value) => sum + value, 0),
            maxLength: shape[1],
            withEntropy: epoch === 0,
          },
        });
        lossValue = reply.loss;
        grads = reply.gradients;
        metrics = reply.metrics;
        const extras = reply.extras as PolicyShardExtras[];
        const logProbRows = extras.flatMap((extra) => extra.logProbRows);
        const entropyRows = extras.flatMap((extra) => extra.entropyRows ?? []);
        rows.forEach((row, offset) => {
          const values = logProbRows[offset];
          if (recomputed && values) recomputed[row] ??= values;
          const entropy = entropyRows[offset];
          if (epoch === 0 && entropy) {
            const target = entropyPerToken[row]!;
            for (let position = 0; position < target.length; position++)
              target[position] = entropy[position] ?? 0;
          }
        });
      } else {
        const { value, grads: tapeGrads } = tf.variableGrads(() => {
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
        lossValue = value.dataSync()[0]!;
        value.dispose();
        grads = tapeGrads;
      }
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

/** The minibatch's rows as shard items; a row not recomputed yet takes its old log-probs from the workers' forward pass. */
function shardItems(
  batch: ReturnType<typeof buildTrajectoryBatch>,
  rows: readonly number[],
  recomputed: readonly (number[] | undefined)[] | undefined,
): PolicyShardItem[] {
  const width = batch.maxLength;
  return batch.sequences.map((sequence, offset) => {
    const slice = (values: Float32Array) =>
      Array.from(values.subarray(offset * width, offset * width + sequence.length));
    return {
      sequence,
      oldLogProbs: slice(batch.oldLogProbs),
      advantages: slice(batch.advantages),
      lossMask: slice(batch.lossMask),
      ...(batch.refLogProbs ? { refLogProbs: slice(batch.refLogProbs) } : {}),
      oldFromForward: recomputed !== undefined && recomputed[rows[offset]!] === undefined,
    };
  });
}

/**
 * Learner log-probs of the rows outside the first accumulation window, scored
 * without gradient before any update: by the workers' learner when it scores
 * on its own engine (`scoreLogProbs`, the ONNX learner), else by the policy.
 */
async function scoreOutsideFirstWindow(options: {
  policy: TrainablePolicy;
  workers?: PolicyGradientWorkers;
  trajectories: readonly Trajectory[];
  firstWindow: readonly number[];
  minibatchSize: number;
  temperature: number;
}): Promise<(number[] | undefined)[]> {
  const { trajectories } = options;
  const recomputed = new Array<number[] | undefined>(trajectories.length).fill(undefined);
  const inWindow = new Set(options.firstWindow);
  const rest = trajectories.map((_, index) => index).filter((index) => !inWindow.has(index));
  const learner = options.workers?.learner;
  // Nothing has been applied yet: the learner scores the policy's current weights.
  if (rest.length > 0 && learner?.scoreLogProbs !== undefined)
    await learner.setWeights(options.workers!.model);
  for (let start = 0; start < rest.length; start += options.minibatchSize) {
    const rows = rest.slice(start, start + options.minibatchSize);
    const sequences = rows.map((row) => trajectories[row]!.tokenIds);
    let values: number[][];
    if (learner?.scoreLogProbs !== undefined) {
      values = await learner.scoreLogProbs(sequences, options.temperature);
    } else {
      values = tf.tidy(() => {
        const output = options.policy.tokenLogProbs({
          sequences,
          temperature: options.temperature,
        });
        return output.logProbs.arraySync() as number[][];
      });
    }
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
