import { createAdvantageEstimator } from '@cohort/advantages';
import { type AdvantageEstimator, InvalidArgumentError, type Objective } from '@cohort/core';
import type { KlEstimator } from '@cohort/kl';
import { createObjective, type ObjectiveConfig, resolveObjectiveConfig } from '@cohort/objectives';
import type * as tf from '@tensorflow/tfjs';
import { type GrpoTrainerConfig, GrpoTrainerConfigSchema } from './trainer-config';

/** The algorithm instances a trainer runs. */
export interface TrainerAlgorithms {
  advantageEstimator: AdvantageEstimator;
  objective: Objective<tf.Tensor>;
  /** The config the built-in objective was made from (absent for a user's instance): workers rebuild it from this. */
  objectiveConfig?: ObjectiveConfig;
  /** The estimator of the KL metric and of the KL in the reward; the built-in objective uses it too. */
  klEstimator: KlEstimator;
}

const defaults = GrpoTrainerConfigSchema.parse({});

function differsFromDefault(value: unknown, fallback: unknown): boolean {
  return JSON.stringify(value) !== JSON.stringify(fallback);
}

/**
 * Resolves the config's algorithm names to built-in instances, or takes the
 * caller's own instances in their place: a user's `AdvantageEstimator` or
 * `Objective` plugs in exactly where a built-in one would (the names are a
 * convenience, as in verl, without a global registry). One source per
 * setting: a config section that an instance replaces must stay at its
 * default, and `kl.estimator` must agree with `objective.klEstimator` when
 * both are set.
 *
 * @throws InvalidArgumentError naming the config field that could not take effect.
 * @example
 * ```ts
 * const { advantageEstimator, objective } = resolveAlgorithms({ config, objective: myObjective });
 * ```
 */
export function resolveAlgorithms(options: {
  config: GrpoTrainerConfig;
  advantageEstimator?: AdvantageEstimator;
  objective?: Objective<tf.Tensor>;
}): TrainerAlgorithms {
  const { config } = options;
  const settings = resolveObjectiveConfig(config.objective);
  if (
    config.kl.estimator !== undefined &&
    config.objective.klEstimator !== undefined &&
    config.kl.estimator !== config.objective.klEstimator
  ) {
    throw new InvalidArgumentError({
      argument: 'config.kl.estimator',
      value: config.kl.estimator,
      message: `disagrees with config.objective.klEstimator ('${config.objective.klEstimator}'); set one of them`,
    });
  }
  const klEstimator = config.kl.estimator ?? settings.klEstimator;
  if (options.advantageEstimator && differsFromDefault(config.advantage, defaults.advantage)) {
    throw new InvalidArgumentError({
      argument: 'config.advantage',
      value: config.advantage,
      message:
        'would not take effect: an advantageEstimator instance was given; leave config.advantage out',
    });
  }
  if (options.advantageEstimator && config.value.enabled) {
    throw new InvalidArgumentError({
      argument: 'advantageEstimator',
      value: options.advantageEstimator.name,
      message:
        'would not take effect: config.value.enabled makes the advantages GAE with the critic',
    });
  }
  if (options.objective && differsFromDefault(config.objective, defaults.objective)) {
    throw new InvalidArgumentError({
      argument: 'config.objective',
      value: config.objective,
      message: 'would not take effect: an objective instance was given; leave config.objective out',
    });
  }
  const objectiveConfig = { ...config.objective, klEstimator };
  return {
    advantageEstimator: options.advantageEstimator ?? createAdvantageEstimator(config.advantage),
    objective: options.objective ?? createObjective(objectiveConfig),
    ...(options.objective ? {} : { objectiveConfig }),
    klEstimator,
  };
}
