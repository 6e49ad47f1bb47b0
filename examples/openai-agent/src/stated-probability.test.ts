import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '@cohort/core';
import { initializeBackend } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { orderIds, orderScenarios } from './order-desk';
import { callTokens, statedProbability } from './stated-probability';

/** log p(completion | prompt) from one unpadded forward pass, log-softmax in float64. */
async function callLogProbability(
  forward: (ids: number[]) => Promise<number[][]>,
  prompt: number[],
  completion: number[],
): Promise<number> {
  const logits = await forward([...prompt, ...completion]);
  let total = 0;
  completion.forEach((token, index) => {
    const row = logits[prompt.length + index - 1]!;
    const top = Math.max(...row);
    const logSum = top + Math.log(row.reduce((sum, value) => sum + Math.exp(value - top), 0));
    total += row[token]! - logSum;
  });
  return total;
}

describe('statedProbability', () => {
  it('equals the normalised call probabilities of unpadded forward passes, in float64', async () => {
    await initializeBackend({ logger: false });
    const { policy } = await loadGptPolicy(fileURLToPath(new URL('../model', import.meta.url)));
    const forward = async (ids: number[]) => {
      const { logits, presentKeyValues } = policy.model.forward([ids]);
      const rows = ((await logits.array()) as number[][][])[0]!;
      logits.dispose();
      for (const layer of presentKeyValues) tf.dispose(Object.values(layer));
      return rows;
    };
    // Two customers, whose stated numbers are the first and the last of `orderIds`.
    const scenarios = orderScenarios('eval').slice(0, 2);
    expect(scenarios.map((scenario) => scenario.orderId)).toEqual([orderIds[0], orderIds[3]]);
    const measured = await statedProbability(policy, scenarios);
    let statedSum = 0;
    let argmaxStated = 0;
    for (const [s, scenario] of scenarios.entries()) {
      const logProbabilities = await Promise.all(
        orderIds.map(async (calledId) => {
          const { prompt, completion } = callTokens(policy, scenario, calledId);
          return callLogProbability(forward, prompt, completion);
        }),
      );
      const top = Math.max(...logProbabilities);
      const weights = logProbabilities.map((value) => Math.exp(value - top));
      const total = weights.reduce((a, b) => a + b, 0);
      const expected = weights.map((weight) => weight / total);
      for (const [k, probability] of expected.entries()) {
        expect(measured.perScenario[s]![k]!).toBeCloseTo(probability, 4);
      }
      const stated = orderIds.indexOf(scenario.orderId as (typeof orderIds)[number]);
      statedSum += expected[stated]!;
      if (expected.indexOf(Math.max(...expected)) === stated) argmaxStated++;
    }
    expect(measured.mean).toBeCloseTo(statedSum / scenarios.length, 4);
    expect(measured.argmaxStated).toBe(argmaxStated / scenarios.length);
  });

  it('refuses an empty set of customers', async () => {
    await initializeBackend({ logger: false });
    const { policy } = await loadGptPolicy(fileURLToPath(new URL('../model', import.meta.url)));
    await expect(statedProbability(policy, [])).rejects.toThrow(InvalidArgumentError);
  });
});
