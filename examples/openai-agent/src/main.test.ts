import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '@cohort/core';
import { createRolloutGateway } from '@cohort/gateway';
import { initializeBackend } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { main, wilsonInterval } from './main';
import { answerCustomer, scoreRun } from './order-agent';
import { orderScenarios, renderedSystemMessage } from './order-desk';
import { makeOrderDeskModel } from './order-desk-model';

describe('examples/openai-agent', () => {
  it('Wilson interval matches values computed by hand', () => {
    // 8/20, z = 1.96: centre (0.4 + 0.096)/1.192 = 0.41611, half 1.96*sqrt(0.012 + 0.0024)/1.192 = 0.19732.
    const [low, high] = wilsonInterval(8, 20, 1.96);
    expect(low).toBeCloseTo(0.2188, 3);
    expect(high).toBeCloseTo(0.6134, 3);
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
  });

  it('the warm start lowers the supervised loss of the assistant tokens', async () => {
    await initializeBackend({ logger: false });
    const { losses, probes } = await makeOrderDeskModel({
      seed: 2,
      phases: [
        { steps: 4, statedFraction: 1 },
        { steps: 2, statedFraction: 0 },
      ],
      batchSize: 2,
      probeEvery: 3,
    });
    expect(losses).toHaveLength(6);
    expect(probes.map((probe) => probe.step)).toEqual([3, 6]);
    for (const probe of probes) {
      expect(probe.heldOut).toBeGreaterThan(0);
      expect(probe.heldOut).toBeLessThan(1);
    }
    // From about ln(vocabulary) at random initialisation.
    expect(losses[0]).toBeGreaterThan(5);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.5);
  });

  it('refuses a warm start schedule it cannot run, naming the field', async () => {
    await expect(makeOrderDeskModel({ seed: 1, phases: [] })).rejects.toThrow(/phases/);
    await expect(
      makeOrderDeskModel({ seed: 1, phases: [{ steps: 10, statedFraction: 1.5 }] }),
    ).rejects.toThrow(/phases\[0\]\.statedFraction = 1\.5/);
    await expect(
      makeOrderDeskModel({ seed: 1, phases: [{ steps: 0, statedFraction: 1 }] }),
    ).rejects.toThrow(/phases\[0\]\.steps/);
    await expect(makeOrderDeskModel({ seed: 1, probeEvery: 0 })).rejects.toThrow(
      InvalidArgumentError,
    );
  });

  it('the gateway shows the policy the prompt it was warm-started on, and the scorer checks the stated number', async () => {
    await initializeBackend({ logger: false });
    const { policy } = await loadGptPolicy(fileURLToPath(new URL('../model', import.meta.url)));
    const gateway = await createRolloutGateway({
      policy,
      contextLength: policy.model.config.contextLength,
      modelName: 'order-desk',
      toolPromptStyle: 'compact',
    });
    try {
      const scenario = orderScenarios('eval')[0]!;
      const client = new OpenAI({
        baseURL: `${gateway.url}/v1`,
        apiKey: 'unused',
        defaultHeaders: { 'x-episode-id': 'check' },
        maxRetries: 0,
      });
      const run = await answerCustomer(client, scenario, {
        model: 'order-desk',
        temperature: 1,
        maxTokens: 32,
        seed: 4,
      });
      expect(gateway.episode('check')!.segments[0]!.messages[0]!.content).toBe(
        renderedSystemMessage(),
      );
      expect(run.toolCalls.length).toBeGreaterThan(0);
      expect(scoreRun(scenario, { toolCalls: [], reply: 'hello' })).toEqual({
        reward: 0,
        success: false,
      });
      expect(
        scoreRun(scenario, {
          toolCalls: [{ name: 'track_order', arguments: { order_id: scenario.orderId } }],
          reply: '',
        }),
      ).toEqual({ reward: 1, success: true });
    } finally {
      await gateway.close();
    }
  });

  it('GRPO through the gateway raises the held-out success of the unchanged openai-client agent beyond chance', async () => {
    // The example's own run (seed 1, 12 steps of 16 episodes at learning rate 1e-3), without the greedy checks.
    const steps = 12;
    const result = await main({ steps, greedy: false, log: () => {} });
    expect(result.timedOutEpisodes).toBe(0);
    expect(result.staleEpisodes).toBe(0);
    expect(result.before.sampled.episodes).toBe(32);
    expect(result.before.sampled.timedOut).toEqual([]);
    // Every task the trainer and the evaluations offered was run by the agent program...
    expect(result.agentEpisodes).toBe(2 * 32 + steps * 16);
    // ...and each step updated the policy that the gateway serves.
    expect(result.policyVersion).toBe(steps);
    // Held-out customers (pairings never trained on): the 95% Wilson intervals of success
    // before and after do not overlap, a gain that sampling noise would not give.
    expect(result.after.sampled.interval[0]).toBeGreaterThan(result.before.sampled.interval[1]);
    // The agent reads the number more often, measured without sampling as well.
    expect(result.after.statedProbability).toBeGreaterThan(result.before.statedProbability + 0.2);
  }, 900_000);
});
