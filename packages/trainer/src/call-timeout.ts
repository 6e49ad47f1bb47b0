import {
  CohortError,
  type Environment,
  type Episode,
  InvalidArgumentError,
  type RewardFunction,
} from '@cohort/core';

const timeoutMarker = 'cohort.error.trainer.call-timeout';
const timeoutSymbol = Symbol.for(timeoutMarker);

/** A user's reward or environment call did not settle in time. */
export class CallTimeoutError extends CohortError {
  protected readonly [timeoutSymbol] = true;
  /** What was called, for example `reward "polite" score() of ./my-reward.ts`. */
  readonly call: string;
  readonly seconds: number;

  constructor(options: { call: string; seconds: number; earlier?: boolean }) {
    super({
      name: 'CallTimeoutError',
      message: `${options.call} did not settle within ${options.seconds} s${options.earlier ? ' (it timed out before; not called again)' : ''}; a promise that never resolves? (the limit is callTimeoutSeconds)`,
    });
    this.call = options.call;
    this.seconds = options.seconds;
  }

  static override isInstance(error: unknown): error is CallTimeoutError {
    return CohortError.hasMarker(error, timeoutMarker);
  }
}

function assertSeconds(seconds: number): void {
  if (!(Number.isFinite(seconds) && seconds > 0)) {
    throw new InvalidArgumentError({
      argument: 'seconds',
      value: seconds,
      message: 'must be a finite number > 0',
    });
  }
}

/**
 * Settles like `value`, or rejects with {@link CallTimeoutError} naming
 * `call` after `seconds`. The timer keeps the event loop alive meanwhile, so
 * a promise that never settles can never look like a finished program.
 *
 * @example
 * ```ts
 * await withCallTimeout(reward.score(context), { call: 'reward "polite" score()', seconds: 60 });
 * ```
 */
export async function withCallTimeout<T>(
  value: T | Promise<T>,
  options: { call: string; seconds: number },
): Promise<T> {
  assertSeconds(options.seconds);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CallTimeoutError({ call: options.call, seconds: options.seconds })),
      options.seconds * 1000,
    );
  });
  try {
    return await Promise.race([Promise.resolve(value), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A reward function whose `score` gets {@link withCallTimeout}. After one
 * timeout every later call fails at once with the same error (a hung reward
 * would otherwise cost the limit on every episode of the step).
 *
 * @example
 * ```ts
 * const guarded = rewardWithTimeout(reward, { call: 'reward "polite" of ./my-reward.ts', seconds: 60 });
 * ```
 */
export function rewardWithTimeout<S>(
  reward: RewardFunction<S>,
  options: { call: string; seconds: number },
): RewardFunction<S> {
  assertSeconds(options.seconds);
  const call = `${options.call} score()`;
  let timedOut = false;
  return {
    name: reward.name,
    ...(reward.scope === undefined ? {} : { scope: reward.scope }),
    async score(context) {
      if (timedOut) throw new CallTimeoutError({ call, seconds: options.seconds, earlier: true });
      try {
        return await withCallTimeout(reward.score(context), { call, seconds: options.seconds });
      } catch (error) {
        if (CallTimeoutError.isInstance(error)) timedOut = true;
        throw error;
      }
    },
  };
}

/**
 * An environment whose `reset` and every episode's `step` get
 * {@link withCallTimeout}, each named by `call` and the method.
 *
 * @example
 * ```ts
 * const guarded = environmentWithTimeout(environment, { call: 'environment "shop" of ./env.ts', seconds: 60 });
 * ```
 */
export function environmentWithTimeout<S>(
  environment: Environment<S>,
  options: { call: string; seconds: number },
): Environment<S> {
  assertSeconds(options.seconds);
  return {
    name: environment.name,
    async reset(resetOptions) {
      const episode = await withCallTimeout(environment.reset(resetOptions), {
        call: `${options.call} reset()`,
        seconds: options.seconds,
      });
      const guarded: Episode = {
        get messages() {
          return episode.messages;
        },
        step: (agentMessage) =>
          withCallTimeout(episode.step(agentMessage), {
            call: `${options.call} step()`,
            seconds: options.seconds,
          }),
      };
      return guarded;
    },
  };
}
