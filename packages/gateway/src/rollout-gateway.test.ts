import { fileURLToPath } from 'node:url';
import {
  type Environment,
  type Message,
  type Policy,
  Random,
  type Scenario,
  type Tokenizer,
} from '@cohort/core';
import { createLlamaModel, initializeBackend, LlamaPolicy } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import { rolloutGroups } from '@cohort/trainer';
import {
  createOnnxSampledPolicy,
  createProxyTunedPolicy,
  loadCausalLm,
} from '@cohort/transformers';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { episodeTrajectories } from './episode-recorder';
import { createRolloutGateway, cutAtStop, type RolloutGateway } from './rollout-gateway';

const modelDirectory = fileURLToPath(
  new URL('../../../apps/agent-trainer/models/support-agent-tiny', import.meta.url),
);
const system = 'You are a support agent for an online store.';
const userTurns = [
  'Hi, my order A5760 has not arrived yet.',
  'It was due last Monday.',
  'Thanks, what happens next?',
];

/** Replays fixed user turns: the conversation an agent program drives through the gateway. */
const replay: Environment<Scenario> = {
  name: 'replay',
  async reset() {
    let turn = 0;
    const messages: Message[] = [
      { role: 'system', content: system },
      { role: 'user', content: userTurns[0]! },
    ];
    return {
      messages,
      async step(agentMessage: string) {
        messages.push({ role: 'assistant', content: agentMessage });
        turn++;
        const done = turn >= userTurns.length;
        if (!done) messages.push({ role: 'user', content: userTurns[turn]! });
        return done
          ? { reward: 0, done, endReason: 'turn-limit' as const }
          : { userMessage: userTurns[turn]!, reward: 0, done };
      },
    };
  },
};

/**
 * Drives `replay`'s conversation through the gateway with the openai client, as
 * an agent program would, and checks the recorded trajectory equals, token for
 * token, the in-process rollout of the same conversation with the same seeds.
 */
async function expectTokenForToken({
  policy,
  gateway,
  client,
  model,
}: {
  policy: Policy & { tokenizer: Tokenizer };
  gateway: RolloutGateway;
  client: OpenAI;
  model: string;
}): Promise<void> {
  const seed = 1234;
  const tokenizer = policy.tokenizer;
  const generation = {
    maxNewTokens: 24,
    temperature: 1,
    stopTokenIds: [
      ...new Set([tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId, tokenizer.eosTokenId]),
    ],
  };
  const inProcess = await rolloutGroups({
    policy,
    environment: replay,
    scenarios: [{ id: 'replay' } as Scenario],
    groupSize: 1,
    seed,
    generation,
    rewards: [],
    maxSequenceLength: 256,
    label: 'replay',
  });
  const expected = inProcess.groups[0]!.trajectories[0]!;

  // The agent program: its own loop over the openai client, seeds as the rollout draws them.
  const sampling = new Random(seed).fork('sampling');
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'system', content: system }];
  for (const [index, user] of userTurns.entries()) {
    messages.push({ role: 'user', content: user });
    const completion = await client.chat.completions.create(
      { model, messages, max_tokens: 24, temperature: 1, seed: sampling.nextUint32() },
      { headers: { 'x-episode-id': 'episode-1' } },
    );
    const reply = completion.choices[0]!.message;
    expect(completion.choices[0]!.message.content).toBe(
      expected.turns.filter((turn) => turn.role === 'assistant')[index]!.content,
    );
    messages.push({ role: 'assistant', content: reply.content ?? '' });
  }
  const response = await fetch(`${gateway.url}/v1/episodes/episode-1/reward`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reward: 0.75, success: true }),
  });
  expect(response.status).toBe(200);
  const report = await gateway.waitForEpisodes(['episode-1'], { timeoutMs: 1000 });
  expect(report.timedOut).toEqual([]);
  const [trajectory, ...others] = episodeTrajectories({
    episode: report.completed[0]!,
    scenarioId: 'replay',
    seed,
    temperature: 1,
  });
  expect(others).toEqual([]);
  // The rollout stops before the last user turn is appended; the gateway's last call ends the same way.
  expect(trajectory!.tokenIds).toEqual(expected.tokenIds);
  expect(trajectory!.lossMask).toEqual(expected.lossMask);
  expect(trajectory!.behaviorLogProbs).toEqual(expected.behaviorLogProbs);
  expect(trajectory!.totalReward).toBe(0.75);
  expect(trajectory!.endReason).toBe('success');
}

describe('rollout gateway with the openai client', () => {
  let loaded: Awaited<ReturnType<typeof loadGptPolicy>>;
  let gateway: RolloutGateway;
  let client: OpenAI;
  beforeAll(async () => {
    await initializeBackend({ logger: false });
    loaded = await loadGptPolicy(modelDirectory);
    gateway = await createRolloutGateway({
      policy: loaded.policy,
      contextLength: 256,
      modelName: 'tiny',
    });
    client = new OpenAI({
      baseURL: `${gateway.url}/v1`,
      apiKey: 'not-needed-on-loopback',
      maxRetries: 0,
    });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['tiny']);
  });

  it('records an agent loop token for token as an in-process rollout of the same conversation', async () => {
    await expectTokenForToken({ policy: loaded.policy, gateway, client, model: 'tiny' });
    expect(gateway.statistics.newSegments).toBe(1);
  });

  it('records a Llama-family policy (grouped-query attention, rotary positions) token for token as well', async () => {
    const model = createLlamaModel({
      config: {
        vocabSize: loaded.tokenizer.vocabSize,
        hiddenSize: 32,
        intermediateSize: 48,
        layerCount: 2,
        headCount: 4,
        keyValueHeadCount: 2,
        contextLength: 256,
        eosTokenId: loaded.tokenizer.eosTokenId,
      },
      seed: 3,
    });
    const policy = new LlamaPolicy({ model, tokenizer: loaded.tokenizer });
    const llamaGateway = await createRolloutGateway({
      policy,
      contextLength: 256,
      modelName: 'llama',
    });
    try {
      const llamaClient = new OpenAI({
        baseURL: `${llamaGateway.url}/v1`,
        apiKey: 'not-needed-on-loopback',
        maxRetries: 0,
      });
      await expectTokenForToken({
        policy,
        gateway: llamaGateway,
        client: llamaClient,
        model: 'llama',
      });
      expect(llamaGateway.statistics.newSegments).toBe(1);
    } finally {
      await llamaGateway.close();
      model.dispose();
    }
  });

  it('serves the hybrid engine (ONNX Runtime sampling) and a proxy-tuned policy token for token as well', async () => {
    const onnx = await createOnnxSampledPolicy({ policy: loaded.policy });
    const base = await loadCausalLm({ model: modelDirectory });
    const proxy = await createProxyTunedPolicy({
      base: base.model,
      tokenizer: base.tokenizer,
      delta: { embeddingSize: 16, layerCount: 1, headCount: 2 },
      seed: 5,
    });
    // A delta head that is not zero, so the proxy answers differently from its base.
    const random = new Random(8);
    const weights = proxy.getWeights();
    for (const tensor of Object.values(weights))
      tensor.data = Float32Array.from(tensor.data, (value) => value + random.normal(0, 0.5));
    proxy.setWeights(weights);
    for (const [name, policy] of [
      ['onnx', onnx],
      ['proxy', proxy],
    ] as const) {
      const served = await createRolloutGateway({ policy, contextLength: 256, modelName: name });
      try {
        const servedClient = new OpenAI({
          baseURL: `${served.url}/v1`,
          apiKey: 'not-needed-on-loopback',
          maxRetries: 0,
        });
        await expectTokenForToken({ policy, gateway: served, client: servedClient, model: name });
        expect(served.statistics.newSegments).toBe(1);
      } finally {
        await served.close();
      }
    }
  });

  it('starts a new segment when the history does not extend the recorded one, and branches n > 1 choices', async () => {
    const headers = { 'x-episode-id': 'episode-2' };
    const first = await client.chat.completions.create(
      {
        model: 'tiny',
        messages: [{ role: 'user', content: 'Where is my refund?' }],
        max_tokens: 8,
        n: 3,
        seed: 7,
      },
      { headers },
    );
    expect(first.choices).toHaveLength(3);
    // The agent continues choice 2; then sends an edited history, which must not be guessed into a segment.
    const chosen = first.choices[2]!.message.content ?? '';
    await client.chat.completions.create(
      {
        model: 'tiny',
        messages: [
          { role: 'user', content: 'Where is my refund?' },
          { role: 'assistant', content: chosen },
          { role: 'user', content: 'Order A5760.' },
        ],
        max_tokens: 8,
        seed: 8,
      },
      { headers },
    );
    await client.chat.completions.create(
      {
        model: 'tiny',
        messages: [
          { role: 'user', content: 'Where is my refund?' },
          { role: 'assistant', content: `${chosen} (edited by the agent)` },
          { role: 'user', content: 'Order A5760.' },
        ],
        max_tokens: 8,
        seed: 9,
      },
      { headers },
    );
    const episode = gateway.episode('episode-2')!;
    expect(episode.segments.map((segment) => segment.calls.length)).toEqual([1, 1, 2, 1]);
    const continued = episode.segments[2]!;
    // Its first completion's ids are kept exactly; the user turn's tokens come from the template.
    expect(continued.tokens.lossMask.filter((bit) => bit === 1).length).toBe(
      continued.calls.reduce((sum, call) => sum + call.completionEnd - call.completionStart, 0),
    );
  });

  it('streams the same completion as a plain call with the same seed', async () => {
    const request = {
      model: 'tiny',
      messages: [{ role: 'user' as const, content: 'Can I change my address?' }],
      max_tokens: 16,
      seed: 99,
    };
    const plain = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(plain.choices[0]!.message.content);
    expect(finish).toBe(plain.choices[0]!.finish_reason);
    expect(usage).toEqual(plain.usage);
  });

  it('takes the episode id from the user field, and puts per-call rewards on their turns', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: system },
      { role: 'user', content: userTurns[0]! },
    ];
    const ids: string[] = [];
    for (const [index, user] of userTurns.slice(1, 3).entries()) {
      const completion = await client.chat.completions.create({
        model: 'tiny',
        messages,
        max_tokens: 8,
        seed: 40 + index,
        user: 'episode-user-field',
      });
      ids.push(completion.id);
      messages.push(
        { role: 'assistant', content: completion.choices[0]!.message.content ?? '' },
        { role: 'user', content: user },
      );
    }
    const post = (body: unknown) =>
      fetch(`${gateway.url}/v1/episodes/episode-user-field/reward`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const unknownCall = await post({ reward: 1, callRewards: { 'chatcmpl-nope': 1 } });
    expect(unknownCall.status).toBe(400);
    expect(((await unknownCall.json()) as { error: { param: string } }).error.param).toBe(
      'callRewards',
    );
    const notNumber = await post({ reward: 1, callRewards: { [ids[0]!]: 'high' } });
    expect(notNumber.status).toBe(400);
    expect(((await notNumber.json()) as { error: { param: string } }).error.param).toBe(
      `callRewards.${ids[0]}`,
    );
    expect(
      (await post({ reward: 0.5, callRewards: { [ids[0]!]: 0.25, [ids[1]!]: -1 } })).status,
    ).toBe(200);
    const report = await gateway.waitForEpisodes(['episode-user-field'], { timeoutMs: 1000 });
    const [trajectory, ...others] = episodeTrajectories({
      episode: report.completed[0]!,
      scenarioId: 'user-field',
      seed: 0,
      temperature: 1,
    });
    expect(others).toEqual([]);
    expect(trajectory!.rewardsPerTurn).toEqual([0.25, -1]);
    // 0.5 + 0.25 - 1: the episode's reward plus each call's.
    expect(trajectory!.totalReward).toBeCloseTo(-0.25, 12);
    expect(
      trajectory!.turns.filter((turn) => turn.role === 'assistant').map((turn) => turn.reward),
    ).toEqual([0.25, -1]);
  });

  it('answers bad requests with OpenAI-style errors that name the parameter', async () => {
    const bad = async (
      body: unknown,
      status: number,
      pattern: RegExp,
      headers: Record<string, string> = {},
    ) => {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect(response.status).toBe(status);
      const json = (await response.json()) as {
        error: { message: string; type: string; param: string | null };
      };
      expect(`${json.error.param} ${json.error.message}`).toMatch(pattern);
    };
    const messages = [{ role: 'user', content: 'hi' }];
    await bad('{not json', 400, /not valid JSON/);
    await bad({ model: 'tiny', messages: [] }, 400, /messages/);
    await bad({ model: 'other', messages }, 404, /model 'other' does not exist/);
    await bad({ model: 'tiny', messages, temperature: 3 }, 400, /temperature/);
    await bad({ model: 'tiny', messages, frequency_penalty: 0.5 }, 400, /frequency_penalty/);
    await bad({ model: 'tiny', messages, tool_choice: 'required' }, 400, /constrained decoding/);
    await bad(
      { model: 'tiny', messages, best_of: 2 },
      400,
      /Unrecognized request argument supplied: best_of/,
    );
    await bad(
      { model: 'tiny', messages, max_tokens: 400 },
      400,
      /maximum context length is 256 tokens/,
    );
    await bad(
      { model: 'tiny', messages: [{ role: 'assistant', content: 'x' }] },
      400,
      /messages .*must be non-empty and end with a system or user message/,
    );
    const reward = await fetch(`${gateway.url}/v1/episodes/nope/reward`, {
      method: 'POST',
      body: '{"reward":1}',
    });
    expect(reward.status).toBe(404);
    await expect(
      client.chat.completions.create({
        model: 'tiny',
        messages: [{ role: 'user', content: 'x' }],
        temperature: 5,
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('cutAtStop', () => {
  const pieces = ['Hel', 'lo', ' wor', 'ld', '!'];
  const decode = (ids: readonly number[]) => ids.map((id) => pieces[id]).join('');
  it('keeps the fewest sampled tokens whose text holds the stop string, and the text before it', () => {
    expect(cutAtStop([0, 1, 2, 3, 4], ['o w'], decode)).toEqual({ tokenCount: 3, text: 'Hell' });
    expect(cutAtStop([0, 1, 2, 3, 4], ['!', 'ld'], decode)).toEqual({
      tokenCount: 4,
      text: 'Hello wor',
    });
    expect(cutAtStop([0, 1], ['zz'], decode)).toEqual({ tokenCount: 2 });
    expect(cutAtStop([0, 1], [], decode)).toEqual({ tokenCount: 2 });
  });
});

describe('gateway safety', () => {
  it('refuses to bind off loopback without an API key, and checks the key when set', async () => {
    await initializeBackend({ logger: false });
    const { policy } = await loadGptPolicy(modelDirectory);
    await expect(
      createRolloutGateway({ policy, contextLength: 256, host: '0.0.0.0' }),
    ).rejects.toThrow(/apiKey.*0\.0\.0\.0/);
    const gateway = await createRolloutGateway({
      policy,
      contextLength: 256,
      apiKey: 'k'.repeat(20),
    });
    try {
      expect((await fetch(`${gateway.url}/v1/models`)).status).toBe(401);
      expect(
        (
          await fetch(`${gateway.url}/v1/models`, {
            headers: { authorization: `Bearer ${'k'.repeat(20)}` },
          })
        ).status,
      ).toBe(200);
    } finally {
      await gateway.close();
    }
  });

  it('ends a wait for episodes at once when told to stop waiting, counting them as timed out', async () => {
    await initializeBackend({ logger: false });
    const { policy } = await loadGptPolicy(modelDirectory);
    const gateway = await createRolloutGateway({ policy, contextLength: 256 });
    try {
      const started = Date.now();
      const waiting = gateway.waitForEpisodes(['never-run-1', 'never-run-2'], {
        timeoutMs: 600_000,
      });
      setTimeout(() => gateway.stopWaiting(), 50);
      expect(await waiting).toEqual({ completed: [], timedOut: ['never-run-1', 'never-run-2'] });
      expect(Date.now() - started).toBeLessThan(10_000);
      // A wait after the stop returns at once.
      expect((await gateway.waitForEpisodes(['late'], { timeoutMs: 600_000 })).timedOut).toEqual([
        'late',
      ]);
    } finally {
      await gateway.close();
    }
  });
});
