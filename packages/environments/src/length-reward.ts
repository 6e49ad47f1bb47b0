import {
  InvalidArgumentError,
  parseWithSchema,
  type RewardContext,
  type RewardFunction,
} from '@cohort/core';
import {
  type LengthRewardOptions,
  type LengthRewardOptionsInput,
  LengthRewardOptionsSchema,
} from './length-reward-options';

/**
 * DAPO's soft overlong punishment (Yu et al. 2025, section 3.4, "soft overlong punishment"), for a completion of
 * `length` tokens with L_max = `maxTokens` and L_cache = `bufferTokens`:
 *
 *   R(L) = 0                               if L <= L_max - L_cache
 *   R(L) = ((L_max - L_cache) - L) / L_cache  if L_max - L_cache < L <= L_max
 *   R(L) = -1                              if L > L_max
 *
 * With `bufferTokens` 0 it is a hard cut: 0 up to L_max, -1 beyond.
 *
 * @example
 * ```ts
 * overlongPenalty(112, 128, 32); // (96 - 112) / 32 = -0.5
 * ```
 */
export function overlongPenalty(length: number, maxTokens: number, bufferTokens: number): number {
  const safeLength = maxTokens - bufferTokens;
  if (length <= safeLength) return 0;
  if (length <= maxTokens) return (safeLength - length) / bufferTokens;
  return -1;
}

/**
 * Length shaping on `completionTokenCount`: the DAPO overlong buffer
 * ({@link overlongPenalty}) plus, with `target`, a bonus for lengths near a
 * target, `weight * exp(-((L - tokens) / scale)^2 / 2)`.
 *
 * @example
 * ```ts
 * const reward = lengthReward({ maxTokens: 128, bufferTokens: 32, target: { tokens: 40, scale: 20 } });
 * reward.score({ ...context, completionTokenCount: 40 }); // 0 + 1
 * ```
 */
export function lengthReward(options: LengthRewardOptionsInput): RewardFunction & {
  readonly options: LengthRewardOptions;
} {
  const parsed = parseWithSchema(LengthRewardOptionsSchema, options, 'length reward options');
  return {
    name: parsed.name,
    scope: parsed.scope,
    options: parsed,
    score(context: RewardContext): number {
      const length = context.completionTokenCount;
      if (!Number.isInteger(length) || length < 0) {
        throw new InvalidArgumentError({
          argument: 'context.completionTokenCount',
          value: length,
          message: 'must be an integer >= 0',
        });
      }
      let score = overlongPenalty(length, parsed.maxTokens, parsed.bufferTokens);
      if (parsed.target) {
        const z = (length - parsed.target.tokens) / parsed.target.scale;
        score += parsed.target.weight * Math.exp(-0.5 * z * z);
      }
      return score;
    },
  };
}
