import type { KlEstimator, Objective, ObjectiveInput, ObjectiveOutput } from '@cohort/core';
import { InvalidArgumentError, parseWithSchema } from '@cohort/core';
import type * as tf from '@tensorflow/tfjs';
import { clippedSurrogateLoss, type SurrogateInputs } from './clipped-surrogate-loss';
import type { AdaptiveEntropyController } from './entropy-controller';
import {
  type ObjectiveOptions,
  ObjectiveOptionsSchema,
  type SurrogateOptions,
} from './objective-options';
import { objectivePresets, ppo } from './presets';

/** Per-call overrides of {@link SurrogateObjective.compute}. */
export interface ComputeOverrides {
  /** The KL coefficient for this call, e.g. from an `AdaptiveKlController`. */
  klCoefficient?: number;
  /** The entropy coefficient for this call, e.g. from an {@link AdaptiveEntropyController}. */
  entropyCoefficient?: number;
}

/** An {@link Objective} over tfjs tensors, with its resolved settings. */
export interface SurrogateObjective extends Objective<tf.Tensor> {
  readonly name: string;
  readonly settings: Readonly<SurrogateOptions>;
  compute(
    input: ObjectiveInput<tf.Tensor> & Pick<SurrogateInputs, 'samplerLogProbs'>,
    overrides?: ComputeOverrides,
  ): ObjectiveOutput<tf.Tensor>;
}

/**
 * Resolves an objective config: defaults (`ppo`), then the preset, then the
 * explicit fields. A config that sets `clipLow` without `clipHigh` gets a
 * symmetric range (`clipHigh = clipLow`), even over an asymmetric preset.
 *
 * @throws ValidationError naming the bad field.
 * @example
 * ```ts
 * resolveObjectiveOptions({ preset: 'grpo', klCoefficient: 0 }).aggregation; // 'sequence-mean'
 * ```
 */
export function resolveObjectiveOptions(config: ObjectiveOptions): SurrogateOptions {
  const parsed = parseWithSchema(ObjectiveOptionsSchema, config, 'objective config');
  const { preset, ...fields } = parsed;
  const base: SurrogateOptions = { ...(preset === undefined ? ppo : objectivePresets[preset]) };
  const resolved: SurrogateOptions = { ...base };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) (resolved as unknown as Record<string, unknown>)[key] = value;
  }
  if (fields.clipHigh === undefined && fields.clipLow !== undefined) {
    resolved.clipHigh = fields.clipLow;
  }
  return resolved;
}

/** What {@link createObjective} takes besides the config: instances a config cannot hold. */
export interface CreateObjectiveInstances {
  /**
   * The KL estimator of the KL term, in place of the preset's or
   * `config.klEstimator` (which must then be unset, as must the clamps that
   * shape the built-in estimators).
   */
  klEstimator?: KlEstimator<tf.Tensor>;
}

/**
 * Builds the surrogate objective from a config (see {@link ObjectiveOptionsSchema}).
 * `compute(inputs, { klCoefficient })` returns the scalar loss and the metrics
 * of {@link clippedSurrogateLoss} as a `Record<string, number>`.
 *
 * @throws InvalidArgumentError naming a config field that an instance replaces.
 * @example
 * ```ts
 * const objective = createObjective({ preset: 'dapo' });
 * const { loss, metrics } = objective.compute({ logProbs, oldLogProbs, advantages, lossMask });
 * ```
 */
export function createObjective(
  config: ObjectiveOptions,
  instances: CreateObjectiveInstances = {},
): SurrogateObjective {
  const settings = Object.freeze(resolveObjectiveOptions(config));
  const name = config.preset ?? 'custom';
  const { klEstimator } = instances;
  if (klEstimator !== undefined) {
    for (const field of [
      'klEstimator',
      'klClamp',
      'klLogRatioClamp',
      'klStraightThrough',
    ] as const) {
      if (config[field] !== undefined) {
        throw new InvalidArgumentError({
          argument: `config.${field}`,
          value: config[field],
          message: `would not take effect: the KL estimator instance '${klEstimator.name}' was given`,
        });
      }
    }
  }
  return {
    name,
    settings,
    compute(input, overrides) {
      const klCoefficient = overrides?.klCoefficient ?? settings.klCoefficient;
      if (!(Number.isFinite(klCoefficient) && klCoefficient >= 0)) {
        throw new InvalidArgumentError({
          argument: 'overrides.klCoefficient',
          value: klCoefficient,
          message: 'must be a finite number >= 0',
        });
      }
      const entropyCoefficient = overrides?.entropyCoefficient ?? settings.entropyCoefficient;
      if (!Number.isFinite(entropyCoefficient)) {
        throw new InvalidArgumentError({
          argument: 'overrides.entropyCoefficient',
          value: entropyCoefficient,
          message: 'must be a finite number',
        });
      }
      const { loss, metrics } = clippedSurrogateLoss({
        ...settings,
        ...input,
        ...(klEstimator === undefined ? {} : { klEstimator }),
        klCoefficient,
        entropyCoefficient,
      });
      const record: Record<string, number> = {};
      for (const [key, value] of Object.entries(metrics))
        if (value !== undefined) record[key] = value;
      return { loss, metrics: record };
    },
  };
}
