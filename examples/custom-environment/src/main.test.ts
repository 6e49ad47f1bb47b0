import { EpisodeDoneError } from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import { GuessNumberEnvironment } from './guess-number-environment';
import { main } from './main';

const scenario = { id: 'game', low: 0, high: 9, maxGuesses: 4 };

describe('GuessNumberEnvironment', () => {
  it('answers Higher/Lower, pays 1 - (guesses - 1) / maxGuesses on a win, and refuses a step after the end', async () => {
    const environment = new GuessNumberEnvironment();
    const episode = await environment.reset({ scenario, seed: 7 });
    const { secret } = episode;
    expect((await environment.reset({ scenario, seed: 7 })).secret).toBe(secret);
    const low = await episode.step(String(secret === 0 ? 9 : 0));
    expect(low).toEqual({
      userMessage: secret === 0 ? 'Lower.' : 'Higher.',
      reward: 0,
      done: false,
    });
    expect(await episode.step('no idea')).toMatchObject({
      userMessage: 'Say a number.',
      done: false,
    });
    const win = await episode.step(`It is ${secret}`);
    expect(win).toMatchObject({ done: true, endReason: 'success', reward: 1 - 2 / 4 });
    await expect(episode.step('1')).rejects.toSatisfy(EpisodeDoneError.isInstance);
    // system prompt, opening, then a user reply after each non-final agent turn
    expect(episode.messages.map((message) => message.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
  });

  it('ends with turn-limit and reward 0 when the guesses run out', async () => {
    const episode = await new GuessNumberEnvironment().reset({ scenario, seed: 3 });
    const results = [];
    for (let turn = 0; turn < 4; turn++) results.push(await episode.step('x'));
    expect(results.at(-1)).toMatchObject({ done: true, endReason: 'turn-limit', reward: 0 });
  });
});

describe('examples/custom-environment', () => {
  it('GRPO raises the win rate on held-out games', async () => {
    const { before, after, rewardPerStep } = await main({ log: () => {} });
    // The uniform start rarely even says a digit (10 of 100 characters): about 0.03.
    expect(before.rewardMean).toBeLessThan(0.06);
    expect(after.rewardMean).toBeGreaterThan(before.rewardMean + 0.1);
    expect(after.successRate).toBeGreaterThan(2.5 * before.successRate);
    const mean = (values: number[]) =>
      values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(mean(rewardPerStep.slice(-20))).toBeGreaterThan(mean(rewardPerStep.slice(0, 20)) + 0.1);
    // Every guess of a held-out sample is now a digit.
    const guesses = after.samples.flatMap((sample) =>
      sample.messages.filter((message) => message.role === 'assistant').map((m) => m.content),
    );
    expect(guesses.filter((guess) => /^\d$/.test(guess)).length).toBeGreaterThan(
      0.8 * guesses.length,
    );
  });
});
