import { describe, expect, it } from 'vitest';
import { main } from './main';

describe('examples/proxy-tuning', () => {
  it('raises the held-out goal completion of a frozen ONNX model, training only the delta', async () => {
    const result = await main({ log: () => {} });
    // 12 held-out refund and shipping scenarios, greedy: 0.453 for the base model.
    expect(result.after.rewardMean).toBeGreaterThan(result.before.rewardMean + 0.1);
    // The policy starts exactly at the base: no KL on the first step's rollouts.
    expect(Math.abs(result.steps[0]!.klToReference)).toBeLessThan(1e-4);
    // and moved away from it as the delta trained.
    expect(Math.max(...result.steps.map((step) => Math.abs(step.klToReference)))).toBeGreaterThan(
      1e-3,
    );
    // The base (the reference) never changed.
    expect(result.baseLogProbs.after).toEqual(result.baseLogProbs.before);
  });
});
