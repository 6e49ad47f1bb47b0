import { InvalidArgumentError, Random, ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { createBandit } from './bandit';
import { createBanditEnvironment, parseArmChoice } from './bandit-environment';
import { EpisodeDoneError } from './episode-done-error';

function meanOf(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

describe('Bandit', () => {
  it('Gaussian arms pay their mean: empirical means within 5 standard errors', () => {
    const armMeans = [-0.5, 0.3, 1.2];
    const bandit = createBandit({ armMeans, noise: 'gaussian', noiseStd: 2, seed: 1 });
    const random = new Random(42);
    const pulls = 20_000;
    for (const [arm, mean] of armMeans.entries()) {
      const rewards = Array.from({ length: pulls }, () => bandit.pull(arm, random));
      const empirical = meanOf(rewards);
      const variance =
        rewards.reduce((sum, value) => sum + (value - empirical) ** 2, 0) / (pulls - 1);
      // Standard error 2 / sqrt(20000) = 0.0141; 5 of them would fail by chance with p < 1e-6.
      expect(Math.abs(empirical - mean)).toBeLessThan(5 * (2 / Math.sqrt(pulls)));
      expect(Math.sqrt(variance)).toBeCloseTo(2, 1);
    }
    expect(bandit.pullCount).toBe(3 * pulls);
  });

  it('Bernoulli arms pay 0 or 1 with their mean as probability', () => {
    const bandit = createBandit({ armMeans: [0.1, 0.7], noise: 'bernoulli', seed: 1 });
    const random = new Random(7);
    const rewards = Array.from({ length: 20_000 }, () => bandit.pull(1, random));
    expect(new Set(rewards)).toEqual(new Set([0, 1]));
    // Standard error sqrt(0.7 * 0.3 / 20000) = 0.00324.
    expect(Math.abs(meanOf(rewards) - 0.7)).toBeLessThan(5 * Math.sqrt(0.21 / 20_000));
    expect(bandit.bestArm()).toBe(1);
    expect(bandit.bestArmMean()).toBe(0.7);
    expect(bandit.regret(0)).toBeCloseTo(0.6, 12);
  });

  it('zero noise pays exactly the mean; the same seeds give the same rewards', () => {
    const exact = createBandit({ armMeans: [0.25, 0.5], noiseStd: 0 });
    expect(exact.pull(1, new Random(1))).toBe(0.5);
    const run = () => {
      const bandit = createBandit({
        armMeans: [0, 1, 2],
        drift: { every: 5, kind: 'random-walk', scale: 0.3 },
        seed: 9,
      });
      const random = new Random(3);
      return [
        Array.from({ length: 40 }, (_, index) => bandit.pull(index % 3, random)),
        bandit.armMeans(),
      ];
    };
    expect(run()).toEqual(run());
  });

  it('swap drift changes the best arm every `every` pulls', () => {
    const bandit = createBandit({
      armMeans: [0.1, 0.2, 0.9],
      drift: { every: 10, kind: 'swap' },
      seed: 4,
    });
    const random = new Random(1);
    let best = bandit.bestArm();
    const bests = [best];
    for (let pull = 1; pull <= 50; pull++) {
      bandit.pull(0, random);
      if (pull % 10 === 0) {
        expect(bandit.bestArm()).not.toBe(best);
        best = bandit.bestArm();
        bests.push(best);
      } else {
        expect(bandit.bestArm()).toBe(best);
      }
      expect([...bandit.armMeans()].sort()).toEqual([0.1, 0.2, 0.9]);
    }
    expect(bandit.driftCount).toBe(5);
    expect(bandit.bestArmMean()).toBe(0.9);
  });

  it('drift on the step clock ignores pulls and follows tick()', () => {
    const bandit = createBandit({
      armMeans: [0, 1],
      drift: { every: 2, kind: 'swap', clock: 'steps' },
      seed: 1,
    });
    for (let pull = 0; pull < 10; pull++) bandit.pull(0, new Random(pull));
    expect(bandit.bestArm()).toBe(1);
    bandit.tick();
    expect(bandit.bestArm()).toBe(1);
    bandit.tick();
    expect(bandit.bestArm()).toBe(0);
    expect(bandit.stepCount).toBe(2);
  });

  it('random-walk drift moves each mean by Normal(0, scale)', () => {
    const armCount = 4000;
    const bandit = createBandit({
      armMeans: new Array(armCount).fill(0),
      drift: { every: 1, kind: 'random-walk', scale: 0.5 },
      seed: 2,
    });
    bandit.pull(0, new Random(1));
    const moves = bandit.armMeans();
    const mean = meanOf(moves);
    const std = Math.sqrt(meanOf(moves.map((value) => (value - mean) ** 2)));
    expect(Math.abs(mean)).toBeLessThan(5 * (0.5 / Math.sqrt(armCount)));
    expect(Math.abs(std - 0.5)).toBeLessThan(0.03);
  });

  it('random-walk drift changes the best arm over time, and keeps Bernoulli means in [0, 1]', () => {
    const bandit = createBandit({
      armMeans: [0.2, 0.5, 0.8],
      noise: 'bernoulli',
      drift: { every: 1, kind: 'random-walk', scale: 0.3 },
      seed: 5,
    });
    const random = new Random(1);
    const bests = new Set<number>();
    for (let pull = 0; pull < 200; pull++) {
      bandit.pull(0, random);
      bests.add(bandit.bestArm());
      for (const mean of bandit.armMeans()) expect(mean >= 0 && mean <= 1).toBe(true);
    }
    expect(bests.size).toBeGreaterThan(1);
  });

  it('saves and restores its state exactly', () => {
    const options = {
      armMeans: [0, 0.5, 1],
      drift: { every: 3, kind: 'random-walk' as const, scale: 0.2 },
      seed: 8,
    };
    const a = createBandit(options);
    const random = new Random(1);
    for (let pull = 0; pull < 7; pull++) a.pull(pull % 3, random);
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const b = createBandit(options);
    b.setState(saved);
    const randomA = random.clone();
    const randomB = random.clone();
    for (let pull = 0; pull < 20; pull++) expect(a.pull(1, randomA)).toBe(b.pull(1, randomB));
    expect(a.armMeans()).toEqual(b.armMeans());
  });

  it('rejects bad options and arms, naming them', () => {
    expect(() => createBandit({ armMeans: [] })).toThrow(/armMeans/);
    expect(() => createBandit({ armMeans: [0.5, 1.5], noise: 'bernoulli' })).toThrow(
      ValidationError,
    );
    expect(() => createBandit({ armMeans: [0.5, 1.5], noise: 'bernoulli' })).toThrow(/armMeans\.1/);
    expect(() => createBandit({ armMeans: [Number.NaN] })).toThrow(/armMeans\.0/);
    expect(() => createBandit({ armMeans: [0], drift: { every: 0, kind: 'swap' } })).toThrow(
      /drift\.every/,
    );
    const bandit = createBandit({ armMeans: [0, 1] });
    expect(() => bandit.pull(2, new Random(1))).toThrow(InvalidArgumentError);
    expect(() => bandit.pull(0.5, new Random(1))).toThrow(/arm = 0.5/);
  });
});

describe('parseArmChoice', () => {
  it('reads "arm N" first, else the first number', () => {
    expect(parseArmChoice('arm 3', 4)).toBe(3);
    expect(parseArmChoice('I pick Arm #2 not 1', 4)).toBe(2);
    expect(parseArmChoice('arm:0', 4)).toBe(0);
    expect(parseArmChoice('1', 4)).toBe(1);
    expect(parseArmChoice('maybe 2.', 4)).toBe(2);
    expect(parseArmChoice('no idea', 4)).toBeNull();
    expect(parseArmChoice('arm 4', 4)).toBeNull();
    expect(parseArmChoice('arm 1', 4, 1)).toBe(0);
    expect(parseArmChoice('0', 4, 1)).toBeNull();
  });
});

describe('BanditEnvironment', () => {
  it('is a single-turn episode paying the pull of the named arm', async () => {
    const environment = createBanditEnvironment({
      bandit: { armMeans: [0, 10], noise: 'gaussian', noiseStd: 0 },
      systemPrompt: 'You pick arms.',
    });
    const episode = await environment.reset({ scenario: { id: 'b' }, seed: 1 });
    expect(episode.messages).toEqual([
      { role: 'system', content: 'You pick arms.' },
      { role: 'user', content: 'Choose one arm from 0 to 1. Answer with the arm number.' },
    ]);
    const result = await episode.step('arm 1');
    expect(result).toMatchObject({
      reward: 10,
      done: true,
      endReason: 'turn-limit',
      info: { arm: 1, regret: 0 },
    });
    await expect(episode.step('arm 0')).rejects.toThrow(EpisodeDoneError);
    const invalid = await (await environment.reset({ seed: 2 })).step('banana');
    expect(invalid).toMatchObject({ reward: 0, done: true, info: { valid: false } });
    expect(environment.bandit.pullCount).toBe(1);
  });

  it('pays pull noise from the episode seed, deterministically', async () => {
    const make = () =>
      createBanditEnvironment({ bandit: { armMeans: [0, 1], noiseStd: 1 }, invalidReward: -1 });
    const rewardsOf = async () => {
      const environment = make();
      const rewards: number[] = [];
      for (const seed of [1, 2, 3])
        rewards.push((await (await environment.reset({ seed })).step('1')).reward);
      return rewards;
    };
    expect(await rewardsOf()).toEqual(await rewardsOf());
    expect(new Set(await rewardsOf()).size).toBe(3);
    const environment = make();
    expect((await (await environment.reset({ seed: 1 })).step('nothing')).reward).toBe(-1);
  });

  it('a policy that picks the best arm beats one that picks at random, on a drifting bandit too', async () => {
    const environment = createBanditEnvironment({
      bandit: {
        armMeans: [0.1, 0.4, 0.9],
        noise: 'bernoulli',
        drift: { every: 50, kind: 'swap' },
        seed: 3,
      },
      armIndexBase: 1,
    });
    const chooser = new Random(5);
    let oracle = 0;
    let uniform = 0;
    for (let seed = 0; seed < 600; seed++) {
      const episode = await environment.reset({ seed });
      if (seed % 2 === 0) {
        oracle += (await episode.step(`arm ${environment.bandit.bestArm() + 1}`)).reward;
      } else {
        uniform += (await episode.step(`arm ${chooser.int(1, 4)}`)).reward;
      }
    }
    // Expected 0.9 * 300 = 270 against (0.1 + 0.4 + 0.9) / 3 * 300 = 140.
    expect(oracle).toBeGreaterThan(240);
    expect(uniform).toBeLessThan(170);
    expect(environment.bandit.driftCount).toBeGreaterThan(0);
  });
});
