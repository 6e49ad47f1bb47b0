import type { Random, Trajectory } from '@cohort/core';
import { valueLoss } from '@cohort/value';
import * as tf from '@tensorflow/tfjs';
import type { CriticTargets } from './advantage-stage';
import type { PolicyOptimizer } from './trainable-policy';
import type { TrainableValueFunction } from './value-function';

/** What the critic-learning stage reports. */
export interface CriticLearningResult {
  /** Mean value loss over the minibatches whose loss was finite (0 when none). */
  loss: number;
  /** Mean fraction of clipped value predictions over the same minibatches. */
  clipFraction: number;
  /** Minibatches skipped for a non-finite loss or gradient. */
  skippedUpdates: number;
  appliedUpdates: number;
}

/**
 * The critic-learning stage: `epochs` passes of minibatch regression of V at
 * each agent turn's state to the GAE returns, clipped around the old values
 * when `clipRange` is set (PPO2 value clipping, as in OpenAI baselines).
 * A minibatch whose loss or gradient is not finite is skipped, reported
 * through `warn`, and left out of the loss means.
 *
 * @example
 * ```ts
 * const critic = learnCritic({ valueFunction, optimizer, trajectories, criticTargets, epochs: 1,
 *   minibatchSize: 16, random, warn: console.warn });
 * ```
 */
export function learnCritic(options: {
  valueFunction: TrainableValueFunction;
  optimizer: PolicyOptimizer;
  trajectories: readonly Trajectory[];
  criticTargets: CriticTargets;
  epochs: number;
  minibatchSize: number;
  clipRange?: number;
  /** The trainer's random stream, for the minibatch order. */
  random: Random;
  warn: (message: string) => void;
}): CriticLearningResult {
  const { valueFunction, trajectories, epochs, minibatchSize } = options;
  const { targets, oldValues, returnsPerTurn } = options.criticTargets;
  const variables = valueFunction.trainableVariables() as tf.Variable[];
  let lossSum = 0;
  let clipSum = 0;
  let counted = 0;
  let skippedUpdates = 0;
  let appliedUpdates = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = options.random.shuffle(trajectories.map((_, index) => index));
    for (let start = 0; start < order.length; start += minibatchSize) {
      const rows = order.slice(start, start + minibatchSize);
      const maxLength = Math.max(1, ...rows.map((row) => trajectories[row]!.tokenIds.length));
      const size = rows.length * maxLength;
      const mask = new Float32Array(size);
      const targetReturns = new Float32Array(size);
      const previous = new Float32Array(size);
      rows.forEach((row, offset) => {
        targets[row]!.statePositions.forEach((position, turn) => {
          const index = offset * maxLength + position;
          mask[index] = 1;
          targetReturns[index] = returnsPerTurn[row]![turn]!;
          previous[index] = oldValues[row]![turn]!;
        });
      });
      if (!mask.some((value) => value > 0)) continue;
      const shape: [number, number] = [rows.length, maxLength];
      let clipFraction = 0;
      const { value, grads } = tf.variableGrads(() => {
        const result = valueLoss({
          values: valueFunction.values({
            sequences: rows.map((row) => trajectories[row]!.tokenIds),
          }),
          oldValues: tf.tensor2d(previous, shape),
          returns: tf.tensor2d(targetReturns, shape),
          mask: tf.tensor2d(mask, shape),
          ...(options.clipRange === undefined ? {} : { clipRange: options.clipRange }),
          checkInputs: false,
        });
        clipFraction = result.metrics.clipFraction;
        return result.loss;
      }, variables);
      const loss = value.dataSync()[0]!;
      value.dispose();
      if (!Number.isFinite(loss)) {
        tf.dispose(Object.values(grads));
        skippedUpdates++;
        options.warn(`non-finite value loss ${loss}: skipped`);
        continue;
      }
      const step = options.optimizer.applyGradients(grads);
      tf.dispose(Object.values(grads));
      if (step.skipped) {
        skippedUpdates++;
        options.warn('non-finite value gradient: value update skipped');
      } else {
        appliedUpdates++;
      }
      lossSum += loss;
      clipSum += clipFraction;
      counted++;
    }
  }
  return {
    loss: counted === 0 ? 0 : lossSum / counted,
    clipFraction: counted === 0 ? 0 : clipSum / counted,
    skippedUpdates,
    appliedUpdates,
  };
}
