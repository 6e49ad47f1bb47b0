import { describe, expect, it } from 'vitest';
import { main } from './main';

const mean = (values: readonly number[]) =>
  values.reduce((sum, value) => sum + value, 0) / values.length;

describe('examples/bandit', () => {
  it('learns the best arm, then follows it when it moves', async () => {
    const lines: string[] = [];
    const { stationary, drifting } = await main({ log: (line) => lines.push(line) });

    // Stationary: from about 0.05 (the random GPT rarely names an arm at all) to
    // at least 90% of the best arm's 0.9, with the last step's answers on arm 4.
    expect(mean(stationary.rewardPerStep.slice(0, 10))).toBeLessThan(0.2);
    expect(mean(stationary.rewardPerStep.slice(-10))).toBeGreaterThanOrEqual(0.9 * 0.9);
    expect(stationary.finalArmCounts[4]).toBeGreaterThanOrEqual(12);

    // Drifting: one swap, after step 99; the best arm before it is arm 4.
    expect(drifting.driftSteps).toEqual([99]);
    const newBest = drifting.bestArmPerStep.at(-1)!;
    expect(newBest).not.toBe(4);
    const beforeDrift = mean(drifting.rewardPerStep.slice(90, 100));
    const justAfter = mean(drifting.rewardPerStep.slice(100, 110));
    const end = mean(drifting.rewardPerStep.slice(-10));
    expect(beforeDrift).toBeGreaterThan(0.6);
    expect(justAfter).toBeLessThan(beforeDrift - 0.3);
    expect(end).toBeGreaterThan(justAfter + 0.4);
    expect(drifting.finalArmCounts[newBest]).toBeGreaterThanOrEqual(12);

    expect(lines.join('\n')).toContain('best arm moved');
  });
});
