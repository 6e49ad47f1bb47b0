import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createOpenAiCompatibleChatModel,
  createSupportDeskEnvironment,
  createSupportDeskLlmUser,
  type SupportDeskLlmUserOptionsInput,
  type SupportDeskTask,
  supportDeskReferenceReply,
  supportDeskTasks,
} from '@cohort/environments';
import { createRolloutGateway, type RolloutGateway } from '@cohort/gateway';
import { initializeBackend, LlamaPolicy } from '@cohort/tfjs';
import { loadLlamaModel } from '@cohort/tfjs/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinySupportDeskLlama } from './tiny-support-desk-llama';

/**
 * The LLM customer against a real OpenAI-compatible server: the project's
 * rollout gateway serving a tiny Llama the test writes (random weights, a
 * tokenizer trained on the desk's prompts), over HTTP, with nothing mocked.
 * A random model plays a poor customer; what is checked is the plumbing:
 * every answer is a real call, counted, checked, and replaced by the
 * scripted answer when it times out or breaks a rule.
 */
let scratch = '';
let gateway: RolloutGateway;
const tasks = supportDeskTasks({ split: 'eval', count: 5 });

beforeAll(async () => {
  await initializeBackend({ logger: false });
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-llm-customer-'));
  const directory = path.join(scratch, 'customer');
  const { tokenizer } = await writeTinySupportDeskLlama(directory, { seed: 4 });
  const model = await loadLlamaModel(directory);
  gateway = await createRolloutGateway({
    policy: new LlamaPolicy({ model, tokenizer }),
    contextLength: 1024,
    modelName: 'customer',
  });
});

afterAll(async () => {
  await gateway?.close();
  await rm(scratch, { recursive: true, force: true });
});

/** Runs the reference agent on every task with an LLM customer on the gateway; the calls are recorded as `episodeId`. */
async function play(episodeId: string, options: Omit<SupportDeskLlmUserOptionsInput, 'model'>) {
  const user = createSupportDeskLlmUser({
    model: createOpenAiCompatibleChatModel({
      baseUrl: `${gateway.url}/v1`,
      model: 'customer',
      headers: { 'x-episode-id': episodeId },
    }),
    ...options,
  });
  const environment = createSupportDeskEnvironment({ user });
  let answersAsked = 0;
  let successes = 0;
  const customerTurns: string[] = [];
  for (const [index, task] of tasks.entries()) {
    const episode = await environment.reset({ scenario: task as SupportDeskTask, seed: index });
    let last: Awaited<ReturnType<typeof episode.step>> | undefined;
    while (!episode.done) {
      last = await episode.step(supportDeskReferenceReply(episode.messages));
      // A step without tool results went to the customer.
      if (last.toolMessages === undefined) answersAsked += 1;
      if (last.userMessage !== undefined) customerTurns.push(last.userMessage);
    }
    if (last?.info?.taskSuccess === true) successes += 1;
  }
  const served =
    gateway.episode(episodeId)?.segments.reduce((sum, segment) => sum + segment.calls.length, 0) ??
    0;
  return { user, answersAsked, successes, customerTurns, served };
}

describe('the support desk LLM customer on a real OpenAI-compatible server', () => {
  it('asks the server for every answer, counts each, and answers from the cache the second time', async () => {
    const cache = new Map<string, string>();
    const first = await play('customer-1', { temperature: 0, maxTokens: 12, cache });
    const counts = first.user.counts();
    // The agent kept asking a customer that wrote noise: after patience answers it gave up without a call.
    expect(counts.calls + counts.gaveUp).toBe(first.answersAsked);
    expect(counts.calls).toBeGreaterThanOrEqual(tasks.length);
    expect(first.served).toBe(counts.calls);
    expect(counts.cached).toBe(0);
    expect(counts.replies + counts.stops + counts.fallbacks).toBe(counts.calls);
    expect(Object.values(counts.fallbacksByReason).reduce((sum, count) => sum + count, 0)).toBe(
      counts.fallbacks,
    );
    expect(counts.fallbacksByReason.timeout).toBe(0);
    expect(counts.fallbacksByReason.request).toBe(0);
    expect(first.user.calls.every((call) => call.durationMs > 0)).toBe(true);
    // What the model wrote reached the agent exactly when it passed the checks.
    const passed = first.user.calls.filter((call) => call.outcome === 'reply').length;
    expect(passed).toBe(counts.replies);

    const second = await play('customer-2', { temperature: 0, maxTokens: 12, cache });
    expect(second.served).toBe(0);
    expect(second.user.counts()).toMatchObject({
      calls: counts.calls,
      cached: counts.calls,
      replies: counts.replies,
      fallbacks: counts.fallbacks,
    });
    expect(second.customerTurns).toEqual(first.customerTurns);
  });

  it('falls back to the scripted customer on a timeout and on an answer too long, counting each, and the task still succeeds', async () => {
    const timedOut = await play('customer-3', { timeoutMs: 1, maxTokens: 12 });
    expect(timedOut.user.counts()).toMatchObject({
      calls: timedOut.answersAsked,
      fallbacks: timedOut.answersAsked,
      fallbacksByReason: { timeout: timedOut.answersAsked },
    });
    expect(timedOut.user.calls[0]!.detail).toBe('no answer within 1 ms');
    // The scripted customer answers every turn, so the reference agent solves every task.
    expect(timedOut.successes).toBe(tasks.length);

    const long = await play('customer-4', { maxCharacters: 1, maxTokens: 12, temperature: 0 });
    const counts = long.user.counts();
    expect(long.served).toBe(counts.calls);
    expect(counts.calls + counts.gaveUp).toBe(long.answersAsked);
    expect(counts.fallbacksByReason['too-long'] + counts.fallbacksByReason.empty).toBe(
      counts.calls - counts.stops,
    );
    expect(counts.fallbacksByReason['too-long']).toBeGreaterThan(0);
    expect(long.successes).toBeGreaterThanOrEqual(tasks.length - counts.stops);
  });
});
