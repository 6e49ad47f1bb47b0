import type { AdvantageEstimator, AdvantageInput, AdvantageResult } from '@cohort/core';
import { InvalidArgumentError, parseWithSchema } from '@cohort/core';
import {
  type AdvantageEstimatorOptions,
  type AdvantageEstimatorOptionsInput,
  AdvantageEstimatorOptionsSchema,
} from './advantage-estimator-options';
import { criticAdvantages } from './critic-advantages';
import { groupRelativeAdvantages } from './group-relative-advantages';
import { reinforcePlusPlusAdvantages } from './reinforce-plus-plus-advantages';
import { rlooAdvantages } from './rloo-advantages';
import { zeroSpreadGroupFraction } from './zero-spread';

/**
 * An {@link AdvantageEstimator} chosen by configuration: `'grpo'`, `'dr-grpo'`,
 * `'rloo'`, `'reinforce++'` or `'critic'`. Each `estimate` call is pure and
 * delegates to the function of the same name in this package.
 */
export class ConfiguredAdvantageEstimator implements AdvantageEstimator {
  readonly name: string;
  readonly config: AdvantageEstimatorOptions;

  constructor(config: AdvantageEstimatorOptionsInput) {
    this.config = parseWithSchema(
      AdvantageEstimatorOptionsSchema,
      config,
      'advantage estimator config',
    );
    this.name = this.config.type;
  }

  estimate(input: AdvantageInput): AdvantageResult {
    const { rewards, groupSize, values } = input;
    const config = this.config;
    switch (config.type) {
      case 'grpo':
      case 'dr-grpo': {
        const result = groupRelativeAdvantages({
          rewards,
          groupSize,
          scale: config.type === 'grpo' ? config.scale : 'none',
          epsilon: config.type === 'grpo' ? config.epsilon : 0,
          baseline: config.baseline,
          zeroSpreadTolerance: config.zeroSpreadTolerance,
          ...(config.type === 'grpo' && config.varianceFloor !== undefined
            ? { varianceFloor: config.varianceFloor }
            : {}),
          ...(config.nanRewards === undefined ? {} : { nanRewards: config.nanRewards }),
        });
        return {
          advantages: result.advantages,
          zeroSpreadGroupFraction: result.zeroSpreadGroupFraction,
        };
      }
      case 'rloo':
        return rlooAdvantages({
          rewards,
          groupSize,
          zeroSpreadTolerance: config.zeroSpreadTolerance,
          ...(config.scale === undefined ? {} : { scale: config.scale }),
          ...(config.epsilon === undefined ? {} : { epsilon: config.epsilon }),
          ...(config.normalize === undefined ? {} : { normalize: config.normalize }),
          ...(config.nanRewards === undefined ? {} : { nanRewards: config.nanRewards }),
        });
      case 'reinforce++': {
        const result = reinforcePlusPlusAdvantages({
          rewards,
          groupSize,
          baseline: config.baseline,
          variance: config.variance,
          epsilon: config.epsilon,
          zeroSpreadTolerance: config.zeroSpreadTolerance,
        });
        return {
          advantages: result.advantages,
          zeroSpreadGroupFraction: result.zeroSpreadGroupFraction,
        };
      }
      case 'critic': {
        if (values === undefined) {
          throw new InvalidArgumentError({
            argument: 'values',
            value: values,
            message: "the 'critic' estimator needs one value V(s) per reward",
          });
        }
        const zeroSpread = zeroSpreadGroupFraction({
          rewards,
          groupSize,
          tolerance: config.zeroSpreadTolerance,
        });
        return { ...criticAdvantages({ rewards, values }), zeroSpreadGroupFraction: zeroSpread };
      }
    }
  }
}

/**
 * Creates the advantage estimator that a configuration names, validating it
 * with {@link AdvantageEstimatorOptionsSchema} (a `ValidationError` names each bad
 * field).
 *
 * @example
 * ```ts
 * const estimator = createAdvantageEstimator({ type: 'dr-grpo' });
 * estimator.estimate({ rewards: [1, 0, 1, 1], groupSize: 2 });
 * // { advantages: [0.5, -0.5, 0, 0], zeroSpreadGroupFraction: 0.5 }
 * ```
 */
export function createAdvantageEstimator(
  config: AdvantageEstimatorOptionsInput,
): ConfiguredAdvantageEstimator {
  return new ConfiguredAdvantageEstimator(config);
}
