import { InvalidArgumentError } from '@cohort/core';
import { createOptimizer } from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';
import type { GrpoTrainingOptions } from './grpo-training-options';
import type { PolicyOptimizer } from './trainable-policy';

/**
 * Builds the policy's optimizer from `config.optimizer`: the one place where
 * the trainer config's optimizer settings take effect. A linear or cosine
 * schedule ends at `config.steps` (at least one step past the warmup).
 *
 * AdamW's decoupled decay (Loshchilov and Hutter 2019) skips rank-0/1
 * parameters unless `decayVectors` is set, as GPT-2 recipes do. When that
 * leaves nothing to decay, the setting could not take effect: an error. When
 * it leaves some vectors undecayed, `warn` says how many.
 *
 * @throws InvalidArgumentError naming `config.optimizer.weightDecay` when no parameter would decay.
 * @example
 * ```ts
 * const optimizer = createPolicyOptimizer({ config, variables: policy.namedVariables(), warn: console.warn });
 * ```
 */
export function createPolicyOptimizer(options: {
  config: GrpoTrainingOptions;
  variables: Record<string, tf.Variable>;
  warn: (message: string) => void;
}): PolicyOptimizer {
  const { optimizer, steps } = options.config;
  if (optimizer.weightDecay > 0 && !optimizer.decayVectors) {
    const entries = Object.entries(options.variables);
    const vectors = entries.filter(([, variable]) => variable.rank < 2).map(([name]) => name);
    if (vectors.length === entries.length) {
      throw new InvalidArgumentError({
        argument: 'config.optimizer.weightDecay',
        value: optimizer.weightDecay,
        message: `would decay no parameter: every trainable parameter (${vectors.join(', ')}) has rank < 2, which decay skips unless optimizer.decayVectors is true`,
      });
    }
    if (vectors.length > 0) {
      options.warn(
        `optimizer.weightDecay skips ${vectors.length} of ${entries.length} parameters of rank < 2 (biases, norm gains); set optimizer.decayVectors to decay them too`,
      );
    }
  }
  return createOptimizer({
    type: optimizer.type,
    learningRate: optimizer.learningRate,
    beta1: optimizer.beta1,
    beta2: optimizer.beta2,
    epsilon: optimizer.epsilon,
    weightDecay: optimizer.weightDecay,
    decayVectors: optimizer.decayVectors,
    maxGradNorm: optimizer.maxGradNorm,
    schedule:
      optimizer.schedule.type === 'constant'
        ? optimizer.schedule
        : {
            ...optimizer.schedule,
            totalSteps: Math.max(steps, optimizer.schedule.warmupSteps + 1),
          },
    variables: options.variables,
  });
}
