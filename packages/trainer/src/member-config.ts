import { InvalidArgumentError } from '@cohort/core';
import type { Hyperparameters } from '@cohort/evolution';
import {
  type GrpoTrainingOptions,
  mergeConfig,
  resolveTrainingOptions,
} from './grpo-training-options';
import {
  type MemberHyperparameterName,
  memberHyperparameterNames,
} from './population-schedule-options';

/** The value each member hyperparameter has in a trainer config. */
export function hyperparametersOfConfig(
  config: GrpoTrainingOptions,
  names: readonly MemberHyperparameterName[],
): Record<string, number> {
  const values: Record<MemberHyperparameterName, number> = {
    learningRate: config.optimizer.learningRate,
    klCoefficient:
      config.kl.controller.type === 'fixed'
        ? config.kl.controller.coefficient
        : config.kl.controller.initialCoefficient,
    temperature: config.generation.temperature,
    entropyCoefficient: config.objective.entropyCoefficient ?? 0,
    clipRange: config.objective.clipLow ?? 0.2,
  };
  return Object.fromEntries(names.map((name) => [name, values[name]]));
}

/**
 * The trainer config of one population member: `base` with the member's
 * hyperparameters written where the trainer reads them:
 * `learningRate` -> `optimizer.learningRate`; `klCoefficient` -> a fixed
 * `kl.controller`; `temperature` -> `generation.temperature` (sampling and the
 * ratio's temperature); `entropyCoefficient` -> `objective.entropyCoefficient`;
 * `clipRange` -> `objective.clipLow` and `objective.clipHigh` (symmetric PPO clip).
 *
 * @throws InvalidArgumentError naming `hyperparameters.NAME` for a name the trainer has no place for.
 * @example
 * ```ts
 * const config = memberConfig(resolveTrainingOptions({}), { learningRate: 3e-4, clipRange: 0.1 });
 * ```
 */
export function memberConfig(
  base: GrpoTrainingOptions,
  hyperparameters: Hyperparameters,
): GrpoTrainingOptions {
  const override: Record<string, Record<string, unknown>> = {};
  let klController: { type: 'fixed'; coefficient: number } | undefined;
  const section = (name: string) => {
    override[name] ??= {};
    return override[name];
  };
  for (const [name, value] of Object.entries(hyperparameters)) {
    if (!(memberHyperparameterNames as readonly string[]).includes(name)) {
      throw new InvalidArgumentError({
        argument: `hyperparameters.${name}`,
        value,
        message: `is not a member hyperparameter (${memberHyperparameterNames.join(', ')})`,
      });
    }
    const key = name as MemberHyperparameterName;
    if (key === 'learningRate') section('optimizer').learningRate = value;
    else if (key === 'klCoefficient') klController = { type: 'fixed', coefficient: value };
    else if (key === 'temperature') section('generation').temperature = value;
    else if (key === 'entropyCoefficient') section('objective').entropyCoefficient = value;
    else {
      section('objective').clipLow = value;
      section('objective').clipHigh = value;
    }
  }
  const merged = mergeConfig(base, override) as GrpoTrainingOptions;
  // Replaced whole: merging a fixed controller into an adaptive one would mix their fields.
  return resolveTrainingOptions(
    klController === undefined
      ? merged
      : { ...merged, kl: { ...merged.kl, controller: klController } },
  );
}
