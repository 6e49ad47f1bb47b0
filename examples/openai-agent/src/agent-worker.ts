/**
 * The glue between the agent program and the gateway's task API: takes
 * tasks (`POST /v1/tasks/next`), runs the agent on each with a client whose
 * `baseURL` is the gateway and whose calls carry the task's episode id, and
 * posts the scorer's reward. The agent itself (order-agent.ts) is unchanged.
 */
import OpenAI from 'openai';
import { answerCustomer, scoreRun } from './order-agent';
import type { OrderScenario } from './order-desk';

interface TaskBody {
  episode_id: string;
  scenario: OrderScenario;
  seed: number;
  temperature: number;
  max_tokens: number;
}

/** Runs tasks until the gateway says there are no more; returns how many it ran. */
export async function runAgentWorker(options: {
  gatewayUrl: string;
  model: string;
}): Promise<number> {
  let episodes = 0;
  for (;;) {
    const response = await fetch(`${options.gatewayUrl}/v1/tasks/next`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ wait_ms: 1000 }),
    });
    if (!response.ok)
      throw new Error(`tasks/next answered ${response.status}: ${await response.text()}`);
    const { task, done } = (await response.json()) as { task: TaskBody | null; done: boolean };
    if (done) return episodes;
    if (task === null) continue;
    const client = new OpenAI({
      baseURL: `${options.gatewayUrl}/v1`,
      apiKey: 'not-needed-on-loopback',
      defaultHeaders: { 'x-episode-id': task.episode_id },
      maxRetries: 0,
    });
    const run = await answerCustomer(client, task.scenario, {
      model: options.model,
      temperature: task.temperature,
      maxTokens: task.max_tokens,
      seed: task.seed,
    });
    const score = scoreRun(task.scenario, run);
    const posted = await fetch(`${options.gatewayUrl}/v1/episodes/${task.episode_id}/reward`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(score),
    });
    if (!posted.ok) throw new Error(`reward answered ${posted.status}: ${await posted.text()}`);
    episodes++;
  }
}
