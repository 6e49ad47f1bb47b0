import type { Environment, Message, RewardContext } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import {
  CallTimeoutError,
  environmentWithTimeout,
  rewardWithTimeout,
  withCallTimeout,
} from './call-timeout';

const never = new Promise<never>(() => {});
const context = {} as RewardContext<unknown>;

describe('call timeouts', () => {
  it('passes values and errors through, and names the call when it never settles', async () => {
    expect(await withCallTimeout(Promise.resolve(3), { call: 'f()', seconds: 1 })).toBe(3);
    expect(await withCallTimeout(4, { call: 'f()', seconds: 1 })).toBe(4);
    await expect(
      withCallTimeout(Promise.reject(new Error('own')), { call: 'f()', seconds: 1 }),
    ).rejects.toThrow('own');
    const started = performance.now();
    const error = await withCallTimeout(never, { call: 'reward "x" score()', seconds: 0.05 }).catch(
      (caught: unknown) => caught,
    );
    expect(CallTimeoutError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/^reward "x" score\(\) did not settle within 0\.05 s/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    await expect(withCallTimeout(1, { call: 'f()', seconds: 0 })).rejects.toThrow(/seconds = 0/);
  });

  it('fails a hung reward once by the clock, then at once, keeping name and scope', async () => {
    let calls = 0;
    const reward = rewardWithTimeout(
      {
        name: 'hung',
        scope: 'turn',
        score: () => {
          calls++;
          return never;
        },
      },
      { call: 'reward "hung" (export reward of my-reward.ts)', seconds: 0.05 },
    );
    expect(reward.name).toBe('hung');
    expect(reward.scope).toBe('turn');
    await expect(reward.score(context)).rejects.toThrow(
      /^reward "hung" \(export reward of my-reward\.ts\) score\(\) did not settle within 0\.05 s;/,
    );
    const started = performance.now();
    await expect(reward.score(context)).rejects.toThrow(/timed out before; not called again/);
    expect(performance.now() - started).toBeLessThan(40);
    expect(calls).toBe(1);
    const fine = rewardWithTimeout(
      { name: 'ok', score: async () => 0.5 },
      { call: 'r', seconds: 1 },
    );
    expect(await fine.score(context)).toBe(0.5);
    expect('scope' in fine).toBe(false);
  });

  it("guards an environment's reset and every step", async () => {
    const messages: Message[] = [{ role: 'user', content: 'hi' }];
    const environment: Environment<string> = {
      name: 'slow',
      async reset({ scenario }) {
        if (scenario === 'hang-reset') return never;
        return {
          messages,
          async step(text) {
            if (text === 'hang') return never;
            messages.push({ role: 'assistant', content: text });
            return { reward: 1, done: false, userMessage: 'more' };
          },
        };
      },
    };
    const guarded = environmentWithTimeout(environment, {
      call: 'environment "slow" of env.ts',
      seconds: 0.05,
    });
    expect(guarded.name).toBe('slow');
    await expect(guarded.reset({ scenario: 'hang-reset', seed: 0 })).rejects.toThrow(
      /^environment "slow" of env\.ts reset\(\) did not settle/,
    );
    const episode = await guarded.reset({ scenario: 'fine', seed: 0 });
    expect(await episode.step('hello')).toEqual({ reward: 1, done: false, userMessage: 'more' });
    expect(episode.messages.at(-1)).toEqual({ role: 'assistant', content: 'hello' });
    await expect(episode.step('hang')).rejects.toThrow(/step\(\) did not settle within 0\.05 s/);
  });
});
