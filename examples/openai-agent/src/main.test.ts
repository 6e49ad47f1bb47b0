import { fileURLToPath } from 'node:url';
import { createRolloutGateway } from '@cohort/gateway';
import { initializeBackend } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { main, wilsonInterval } from './main';
import { answerCustomer, scoreRun } from './order-agent';
import { orderScenarios } from './order-desk';
import { makeOrderDeskModel, renderedSystemMessage } from './order-desk-model';

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
    const { losses } = await makeOrderDeskModel({ seed: 2, steps: 6, batchSize: 2 });
    expect(losses).toHaveLength(6);
    // From about ln(vocabulary) at random initialisation.
    expect(losses[0]).toBeGreaterThan(5);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.5);
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

  it('GRPO trains through the gateway on every episode the unchanged openai-client agent runs', async () => {
    const result = await main({ steps: 2, heldOutEpisodesPerScenario: 1, log: () => {} });
    expect(result.timedOutEpisodes).toBe(0);
    expect(result.staleEpisodes).toBe(0);
    expect(result.before.episodes).toBe(8);
    expect(result.before.timedOut).toEqual([]);
    // Every task the trainer and the evaluations offered was run by the agent program...
    expect(result.agentEpisodes).toBe(result.before.episodes + result.after.episodes + 2 * 16);
    // ...and each step updated the policy that the gateway serves.
    expect(result.policyVersion).toBe(2);
  }, 600_000);
});
