import { InvalidArgumentError, type RewardContext } from '@cohort/core';
import { compositeReward, keywordReward } from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import { calmToneReward } from './calm-tone-reward';
import { main } from './main';

const context = (completion: string): RewardContext => ({
  scenario: undefined,
  messages: [{ role: 'assistant', content: completion }],
  completion,
  turnIndex: 0,
  done: true,
  completionTokenCount: completion.length,
});

describe('calmToneReward', () => {
  it('scores (lowercase - penalty * (capitals + "!")) / characters, by hand', async () => {
    const reward = calmToneReward();
    // 12 lowercase letters of 17 characters (a comma, 3 spaces, a period).
    expect(await reward.score(context('sure, here it is.'))).toBeCloseTo(12 / 17, 12);
    // "NO WAY!": 0 lowercase, 5 capitals and 1 "!", 7 characters.
    expect(await reward.score(context('NO WAY!'))).toBeCloseTo(-6 / 7, 12);
    expect(await calmToneReward({ shoutingPenalty: 2 }).score(context('Ok!'))).toBeCloseTo(
      (1 - 2 * 2) / 3,
      12,
    );
    expect(await reward.score(context(''))).toBeNull();
  });

  it('refuses a bad penalty, naming it', () => {
    expect(() => calmToneReward({ shoutingPenalty: -1 })).toThrow(InvalidArgumentError);
    expect(() => calmToneReward({ shoutingPenalty: Number.NaN })).toThrow(/shoutingPenalty/);
  });

  it('composes with built-in rewards and is reported by name', async () => {
    const reward = compositeReward({
      components: [
        { reward: calmToneReward(), weight: 2 },
        { reward: keywordReward({ required: ['here'] }), weight: 1 },
      ],
    });
    const scored = await reward.scoreDetailed(context('sure, here it is.'));
    expect(scored.components).toEqual({ 'calm-tone': 12 / 17, keywords: 1 });
    expect(scored.total).toBeCloseTo((2 * 12) / 17 + 1, 12);
  });
});

describe('examples/custom-reward', () => {
  it('GRPO on the composite raises it, and the custom component most', async () => {
    const { before, after, componentsBefore, componentsAfter } = await main({ log: () => {} });
    // A uniform policy over 100 characters shouts about as often as it whispers,
    // and almost never stops before 12 tokens.
    expect(componentsBefore['calm-tone']).toBeLessThan(0);
    expect(componentsAfter['calm-tone']).toBeGreaterThan(0.8);
    expect(componentsAfter.length).toBeGreaterThan(componentsBefore.length! + 0.3);
    expect(componentsAfter.format).toBeGreaterThan(componentsBefore.format! - 0.05);
    expect(after.rewardMean).toBeGreaterThan(before.rewardMean + 3);
  });
});
