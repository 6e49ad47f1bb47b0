import { fileURLToPath } from 'node:url';
import type { Scenario } from '@cohort/core';
import { initializeBackend } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import { GrpoTrainer, type TrainerEvent } from '@cohort/trainer';
import OpenAI from 'openai';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayRolloutSource } from './gateway-rollout-source';
import { createRolloutGateway, type RolloutGateway } from './rollout-gateway';

const modelDirectory = fileURLToPath(
  new URL('../../../apps/agent-trainer/models/support-agent-tiny', import.meta.url),
);

interface Task {
  episode_id: string;
  scenario: { id: string; question: string };
  seed: number;
  temperature: number;
  max_tokens: number;
}

const scenarios = [
  { id: 'refund', question: 'Where is my refund?' },
  { id: 'address', question: 'Can I change my address?' },
  { id: 'late', question: 'My parcel is late.' },
] as unknown as Scenario[];

/**
 * An agent program: takes tasks, asks the policy twice through the openai
 * client, and posts a reward from a scorer of its own (the reply's length).
 * `skip` leaves an episode without a reward; `between` runs after the calls.
 */
async function runAgent(
  gateway: RolloutGateway,
  options: { skip?: (task: Task) => boolean; between?: () => void } = {},
) {
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const takeTask = async () => {
    const response = await fetch(`${gateway.url}/v1/tasks/next`, {
      method: 'POST',
      body: JSON.stringify({ wait_ms: 200 }),
    });
    return (await response.json()) as { task: Task | null; done: boolean };
  };
  const episodes: string[] = [];
  for (;;) {
    const { task, done } = await takeTask();
    if (done) return episodes;
    if (task === null) continue;
    episodes.push(task.episode_id);
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: task.scenario.question },
    ];
    let words = 0;
    for (let turn = 0; turn < 2; turn++) {
      const completion = await client.chat.completions.create(
        {
          model: 'tiny',
          messages,
          max_tokens: task.max_tokens,
          temperature: task.temperature,
          seed: task.seed + turn,
        },
        { headers: { 'x-episode-id': task.episode_id } },
      );
      const reply = completion.choices[0]!.message.content ?? '';
      words += reply.split(/\s+/).length;
      messages.push({ role: 'assistant', content: reply }, { role: 'user', content: 'And then?' });
    }
    options.between?.();
    if (options.skip?.(task)) continue;
    await fetch(`${gateway.url}/v1/episodes/${task.episode_id}/reward`, {
      method: 'POST',
      body: JSON.stringify({ reward: Math.min(words, 20) / 20, success: words > 10 }),
    });
  }
}

describe('gateway rollout source', () => {
  let loaded: Awaited<ReturnType<typeof loadGptPolicy>>;
  let gateway: RolloutGateway | undefined;
  beforeAll(async () => {
    await initializeBackend({ logger: false });
    loaded = await loadGptPolicy(modelDirectory);
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  const trainer = (
    rolloutSource: ReturnType<typeof createGatewayRolloutSource<Scenario>>,
    events: TrainerEvent[] = [],
    config: Record<string, unknown> = {},
  ) =>
    new GrpoTrainer({
      policy: loaded.policy,
      trainScenarios: scenarios,
      rewards: [],
      rolloutSource,
      onEvent: (event) => events.push(event),
      config: {
        seed: 3,
        scenariosPerStep: 2,
        groupSize: 3,
        minibatchSize: 6,
        generation: { maxNewTokens: 12 },
        maxSequenceLength: 256,
        ...config,
      },
    });

  it('trains a step on the groups the agent program produced, each trajectory exactly as recorded', async () => {
    gateway = await createRolloutGateway({
      policy: loaded.policy,
      contextLength: 256,
      modelName: 'tiny',
    });
    const source = createGatewayRolloutSource<Scenario>({ gateway, groupTimeoutMs: 60_000 });
    const events: TrainerEvent[] = [];
    const grpo = trainer(source, events);
    const agent = runAgent(gateway);
    const versionBefore = loaded.policy.version;
    const metrics = await grpo.step();
    gateway.finishTasks();
    const episodes = await agent;
    expect(episodes).toHaveLength(6);
    expect(metrics.episodes).toBe(6);
    expect(metrics.droppedGroups).toBe(0);
    expect(metrics.timedOutEpisodes).toBe(0);
    expect(metrics.staleEpisodes).toBe(0);
    expect(metrics.appliedUpdates).toBeGreaterThan(0);
    expect(loaded.policy.version).toBeGreaterThan(versionBefore);
    const rollouts = events.find((event) => event.type === 'rollouts');
    if (rollouts?.type !== 'rollouts') throw new Error('no rollouts event');
    expect(rollouts.groups.map((group) => group.trajectories.length)).toEqual([3, 3]);
    for (const group of rollouts.groups) {
      // The G episodes of a group ran the same scenario.
      expect(new Set(group.trajectories.map((trajectory) => trajectory.scenarioId)).size).toBe(1);
      for (const trajectory of group.trajectories) {
        expect(trajectory.policyVersion).toBe(versionBefore);
        // Two calls, so two sampled runs, and the sampled tokens are exactly the masked ones.
        expect(trajectory.turns.filter((turn) => turn.role === 'assistant')).toHaveLength(2);
        expect(trajectory.lossMask.length).toBe(trajectory.tokenIds.length);
        expect(trajectory.behaviorLogProbs.every((value) => value <= 0)).toBe(true);
        expect(trajectory.tokenIds.slice(0, trajectory.turns[0]!.tokenEnd)).toEqual(
          loaded.tokenizer.applyChatTemplate(trajectory.messages.slice(0, 1), {
            addGenerationPrompt: false,
          }),
        );
      }
    }
    // The episodes were handed on and forgotten by the gateway.
    expect(episodes.every((id) => gateway!.episode(id) === undefined)).toBe(true);
  });

  it('drops and counts stale episodes and groups whose reward never comes', async () => {
    gateway = await createRolloutGateway({
      policy: loaded.policy,
      contextLength: 256,
      modelName: 'tiny',
      episodeTimeoutMs: 1_000,
    });
    const source = createGatewayRolloutSource<Scenario>({ gateway, groupTimeoutMs: 20_000 });
    const grpo = trainer(source);
    let calls = 0;
    // After the fourth episode's calls, another learner updates the weights (version + 1):
    // episodes 4-6 end at the new version, episodes 1-3 are one version behind.
    const agent = runAgent(gateway, {
      skip: (task) => task.episode_id.endsWith('g1-e2'),
      between: () => {
        calls++;
        if (calls === 3) loaded.policy.version++;
      },
    });
    const started = Date.now();
    const metrics = await grpo.step();
    gateway.finishTasks();
    await agent;
    // The missing reward is given up after the episode's idle timeout, not the group timeout.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(metrics.timedOutEpisodes).toBe(1);
    expect(metrics.staleEpisodes).toBe(3);
    expect(metrics.droppedGroups).toBe(2);
    expect(metrics.appliedUpdates).toBe(0);
    expect(source.lastReport).toMatchObject({
      timedOutGroups: [{ groupId: 's0-g1', episodeIds: ['s0-g1-e2'] }],
      staleEpisodes: ['s0-g0-e0', 's0-g0-e1', 's0-g0-e2'],
      unusableEpisodes: [],
    });
  });

  it('keeps one-version-old episodes under maxPolicyLag 1, and refuses settings a source cannot honour', async () => {
    gateway = await createRolloutGateway({
      policy: loaded.policy,
      contextLength: 256,
      modelName: 'tiny',
    });
    const source = createGatewayRolloutSource<Scenario>({ gateway });
    const grpo = trainer(source, [], { maxPolicyLag: 1 });
    let calls = 0;
    const agent = runAgent(gateway, {
      between: () => {
        if (++calls === 3) loaded.policy.version++;
      },
    });
    const metrics = await grpo.step();
    gateway.finishTasks();
    await agent;
    expect(metrics.staleEpisodes).toBe(0);
    expect(metrics.droppedGroups).toBe(0);
    expect(() =>
      trainer(source, [], { dynamicSampling: { enabled: true, maxRefills: 2 } }),
    ).toThrow(/dynamicSampling.enabled.*gateway source/);
    // Without an environment, training runs through the source and evaluation must go through it too.
    await expect(grpo.evaluate()).rejects.toThrow(/environment.*evaluate through it/);
    expect(
      () => new GrpoTrainer({ policy: loaded.policy, trainScenarios: scenarios, rewards: [] }),
    ).toThrow(/environment.*unless a rolloutSource/);
    expect(() => createGatewayRolloutSource({ gateway: gateway!, groupTimeoutMs: 0 })).toThrow(
      /groupTimeoutMs/,
    );
    const bad = await fetch(`${gateway.url}/v1/tasks/next`, {
      method: 'POST',
      body: JSON.stringify({ wait_ms: -1 }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('wait_ms');
  });
});
