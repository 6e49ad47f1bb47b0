import { parseWithSchema, type RewardContext, type RewardFunction } from '@cohort/core';
import {
  type CompositeRewardOptions,
  type CompositeRewardOptionsInput,
  CompositeRewardOptionsSchema,
} from './composite-reward-options';
import { finiteScore } from './reward-text';

/** The total of a composite and what each component gave. */
export interface CompositeRewardResult {
  /** The weighted sum, or null when no component counted (`skip` with all null). */
  total: number | null;
  /** Each component's score by name; null when it returned null or failed. */
  components: Record<string, number | null>;
  /** Each failed component's error message by name (a throw or a non-finite score). */
  errors: Record<string, string>;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * A weighted sum of reward functions that reports every component.
 *
 * total = sum_{i counted} w_i r_i, divided by sum_{i counted} |w_i| when `normalize`.
 * With `nullHandling: 'skip'` the counted components are those that returned
 * a number; with `zero`, all of them, a null counting as 0. A component that
 * throws or returns a non-finite number is reported in `errors` under its name
 * and treated as null, so one failing reward never stops the run. Components
 * are scored concurrently.
 *
 * @example
 * ```ts
 * const reward = compositeReward({
 *   components: [
 *     { reward: goalCompletionReward(), weight: 1 },
 *     { reward: lengthReward({ maxTokens: 64, bufferTokens: 16 }), weight: 0.5 },
 *   ],
 * });
 * const { total, components, errors } = await reward.scoreDetailed(context);
 * ```
 */
export class CompositeReward<ScenarioType = unknown> implements RewardFunction<ScenarioType> {
  readonly name: string;
  readonly scope: 'turn' | 'episode';
  readonly options: CompositeRewardOptions;

  constructor(options: CompositeRewardOptionsInput) {
    this.options = parseWithSchema(
      CompositeRewardOptionsSchema,
      options,
      'composite reward options',
    );
    this.name = this.options.name;
    this.scope = this.options.scope;
  }

  /** Names of the components, in order. */
  get componentNames(): string[] {
    return this.options.components.map((component) => component.reward.name);
  }

  async scoreDetailed(context: RewardContext<ScenarioType>): Promise<CompositeRewardResult> {
    const components: Record<string, number | null> = {};
    const errors: Record<string, string> = {};
    const scores = await Promise.all(
      this.options.components.map(async ({ reward }) => {
        try {
          const value = await reward.score(context as RewardContext<unknown>);
          return value === null ? null : finiteScore(reward.name, value);
        } catch (error) {
          errors[reward.name] = describeError(error);
          return null;
        }
      }),
    );
    let total = 0;
    let weightSum = 0;
    let counted = 0;
    this.options.components.forEach(({ reward, weight }, index) => {
      const score = scores[index] ?? null;
      components[reward.name] = score;
      if (score === null && this.options.nullHandling === 'skip') return;
      total += weight * (score ?? 0);
      weightSum += Math.abs(weight);
      counted += 1;
    });
    if (counted === 0) return { total: null, components, errors };
    if (this.options.normalize) {
      return { total: weightSum > 0 ? total / weightSum : null, components, errors };
    }
    return { total, components, errors };
  }

  async score(context: RewardContext<ScenarioType>): Promise<number | null> {
    return (await this.scoreDetailed(context)).total;
  }
}

/** Creates a {@link CompositeReward}. */
export function compositeReward<ScenarioType = unknown>(
  options: CompositeRewardOptionsInput,
): CompositeReward<ScenarioType> {
  return new CompositeReward<ScenarioType>(options);
}
