import {
  InvalidArgumentError,
  parseWithSchema,
  type RewardContext,
  type RewardFunction,
} from '@cohort/core';
import {
  type HumanFeedbackRewardOptionsInput,
  HumanFeedbackRewardOptionsSchema,
} from './human-feedback-reward-options';
import { finiteScore } from './reward-text';

/** Counts of what happened to the questions put to the person. */
export interface HumanFeedbackStats {
  asked: number;
  answered: number;
  skipped: number;
  timedOut: number;
}

/** A reward function that asks a person, with counts of answers and timeouts. */
export interface HumanFeedbackReward extends RewardFunction {
  readonly stats: Readonly<HumanFeedbackStats>;
}

const timedOut = Symbol('timed out');

/**
 * A person's score, through an async callback (a terminal prompt, a web form).
 * `ask` gets the context and an `AbortSignal` that fires on timeout. A null
 * answer skips; after `timeoutMs` the score is null, the timeout is counted in
 * `stats.timedOut` and `onTimeout` is called. A non-finite answer throws a
 * `NonFiniteError`, one outside `range` an `InvalidArgumentError`.
 *
 * @example
 * ```ts
 * const reward = humanFeedbackReward({ ask: async (context) => Number(await prompt(context.completion)), timeoutMs: 60_000 });
 * ```
 */
export function humanFeedbackReward(options: HumanFeedbackRewardOptionsInput): HumanFeedbackReward {
  const parsed = parseWithSchema(
    HumanFeedbackRewardOptionsSchema,
    options,
    'human feedback reward options',
  );
  const stats: HumanFeedbackStats = { asked: 0, answered: 0, skipped: 0, timedOut: 0 };
  return {
    name: parsed.name,
    scope: parsed.scope,
    stats,
    async score(context: RewardContext): Promise<number | null> {
      stats.asked += 1;
      const controller = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const answer = Promise.resolve(parsed.ask(context, { signal: controller.signal }));
      let value: number | null | typeof timedOut;
      try {
        value =
          parsed.timeoutMs === undefined
            ? await answer
            : await Promise.race([
                answer,
                new Promise<typeof timedOut>((resolve) => {
                  timer = setTimeout(() => resolve(timedOut), parsed.timeoutMs);
                }),
              ]);
      } finally {
        if (timer !== undefined) clearTimeout(timer);
      }
      if (value === timedOut) {
        stats.timedOut += 1;
        controller.abort();
        // The late answer is dropped; keep its rejection from going unhandled.
        answer.catch(() => undefined);
        parsed.onTimeout?.(context);
        return null;
      }
      if (value === null) {
        stats.skipped += 1;
        return null;
      }
      const score = finiteScore(parsed.name, value, 'feedback');
      if (parsed.range && (score < parsed.range[0] || score > parsed.range[1])) {
        throw new InvalidArgumentError({
          argument: `${parsed.name} feedback`,
          value: score,
          message: `must be in [${parsed.range[0]}, ${parsed.range[1]}]`,
        });
      }
      stats.answered += 1;
      return score;
    },
  };
}
