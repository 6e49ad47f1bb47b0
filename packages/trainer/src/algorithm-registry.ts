import { createAdvantageEstimator } from '@cohort/advantages';
import {
  type AdvantageEstimator,
  InvalidArgumentError,
  type KlEstimator,
  type Objective,
} from '@cohort/core';
import { createKlEstimator } from '@cohort/kl';
import {
  createObjective,
  type ObjectiveOptions,
  resolveObjectiveOptions,
} from '@cohort/objectives';
import type * as tf from '@tensorflow/tfjs';
import { type GrpoTrainingOptions, GrpoTrainingOptionsSchema } from './grpo-training-options';

/** The algorithm instances a trainer runs. */
export interface TrainerAlgorithms {
  advantageEstimator: AdvantageEstimator;
  objective: Objective<tf.Tensor>;
  /**
   * The config the built-in objective was made from (absent for a user's
   * objective or KL estimator instance): workers rebuild it from this.
   */
  objectiveConfig?: ObjectiveOptions;
  /** The estimator of the KL metric and of the KL in the reward; the built-in objective's KL term uses it too. */
  klEstimator: KlEstimator<tf.Tensor>;
}

const defaults = GrpoTrainingOptionsSchema.parse({});

function differsFromDefault(value: unknown, fallback: unknown): boolean {
  return JSON.stringify(value) !== JSON.stringify(fallback);
}

/**
 * Resolves the config's algorithm names to built-in instances, or takes the
 * caller's own instances in their place: a user's `AdvantageEstimator`,
 * `Objective` or `KlEstimator` plugs in exactly where a built-in one would
 * (the names are a convenience, as in verl, without a global registry). One
 * source per setting: a config section that an instance replaces must stay at
 * its default, and `kl.estimator` must agree with `objective.klEstimator` when
 * both are set. One KL estimator serves the loss's KL term (of the built-in
 * objective), the KL placed in the reward and the `klToReference` metric; a
 * user's own objective decides its own KL term.
 *
 * @throws InvalidArgumentError naming the config field that could not take effect.
 * @example
 * ```ts
 * const { advantageEstimator, objective } = resolveAlgorithms({ config, objective: myObjective });
 * ```
 */
export function resolveAlgorithms(options: {
  config: GrpoTrainingOptions;
  advantageEstimator?: AdvantageEstimator;
  objective?: Objective<tf.Tensor>;
  klEstimator?: KlEstimator<tf.Tensor>;
}): TrainerAlgorithms {
  const { config } = options;
  if (options.klEstimator) refuseReplacedKlSettings(config, options.klEstimator);
  const settings = resolveObjectiveOptions(config.objective);
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
  const klEstimatorName = config.kl.estimator ?? settings.klEstimator;
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
  const advantageEstimator =
    options.advantageEstimator ?? createAdvantageEstimator(config.advantage);
  if (options.klEstimator) {
    return {
      advantageEstimator,
      objective:
        options.objective ??
        createObjective(config.objective, { klEstimator: options.klEstimator }),
      klEstimator: options.klEstimator,
    };
  }
  const objectiveConfig = { ...config.objective, klEstimator: klEstimatorName };
  return {
    advantageEstimator,
    objective: options.objective ?? createObjective(objectiveConfig),
    ...(options.objective ? {} : { objectiveConfig }),
    klEstimator: createKlEstimator({ name: klEstimatorName }),
  };
}

/** The config fields that name or shape a built-in KL estimator, refused next to a user's instance. */
function refuseReplacedKlSettings(
  config: GrpoTrainingOptions,
  klEstimator: KlEstimator<tf.Tensor>,
) {
  const replaced = [
    ['config.kl.estimator', config.kl.estimator],
    ['config.objective.klEstimator', config.objective.klEstimator],
    ['config.objective.klClamp', config.objective.klClamp],
    ['config.objective.klLogRatioClamp', config.objective.klLogRatioClamp],
    ['config.objective.klStraightThrough', config.objective.klStraightThrough],
  ] as const;
  for (const [argument, value] of replaced) {
    if (value !== undefined) {
      throw new InvalidArgumentError({
        argument,
        value,
        message: `would not take effect: the klEstimator instance '${klEstimator.name}' was given; leave it out`,
      });
    }
  }
}
