import { InvalidArgumentError, type RewardFunction } from '@cohort/core';

/** Options of {@link calmToneReward}. */
export interface CalmToneRewardOptions {
  /** Cost of each capital letter or "!" relative to the credit of a lowercase letter. Default 1. */
  shoutingPenalty?: number;
  /** Score every agent turn (default) or only the episode's last one. */
  scope?: 'turn' | 'episode';
}

/**
 * A user-written reward: calm, plain replies score high, shouting scores low.
 *
 *   score = (lowercase letters - shoutingPenalty * (capitals + "!")) / characters
 *
 * so it lies in [-shoutingPenalty, 1]. An empty reply has no tone to judge:
 * the score is `null` (not applicable), which a composite leaves out.
 *
 * @example
 * ```ts
 * calmToneReward().score({ completion: 'sure, here it is.', ... }); // 12 / 17 = 0.71
 * ```
 */
export function calmToneReward(options: CalmToneRewardOptions = {}): RewardFunction {
  const { shoutingPenalty = 1, scope = 'turn' } = options;
  if (!Number.isFinite(shoutingPenalty) || shoutingPenalty < 0) {
    throw new InvalidArgumentError({
      argument: 'shoutingPenalty',
      value: shoutingPenalty,
      message: 'must be a finite number >= 0',
    });
  }
  return {
    name: 'calm-tone',
    scope,
    score({ completion }) {
      if (completion.length === 0) return null;
      const count = (pattern: RegExp) => completion.match(pattern)?.length ?? 0;
      const shouting = count(/[A-Z]/g) + count(/!/g);
      return (count(/[a-z]/g) - shoutingPenalty * shouting) / completion.length;
    },
  };
}
