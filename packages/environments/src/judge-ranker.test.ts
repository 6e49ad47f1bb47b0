import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Message, TrajectoryGroup } from '@cohort/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJudgeRanker, withGroupScores } from './judge-ranker';
import { createOpenAiCompatibleChatModel } from './openai-compatible-chat-model';

/**
 * A real OpenAI-compatible judge over HTTP: it scores each trajectory of the
 * prompt by how often it says "refunded" (1 for the most), or misbehaves as
 * the model name asks: `garbage` answers prose, `slow` answers after 2 s,
 * `broken` answers HTTP 500.
 */
let server: Server;
let baseUrl = '';
const requests: { model: string; authorization?: string; messages: Message[] }[] = [];

async function body(request: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  return text;
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const payload = JSON.parse(await body(request)) as { model: string; messages: Message[] };
    requests.push({
      ...payload,
      ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
    });
    const reply = (content: string) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }));
    };
    if (payload.model === 'broken') {
      response.writeHead(500);
      response.end('overloaded');
      return;
    }
    if (payload.model === 'garbage') return reply('They all look fine to me.');
    if (payload.model === 'slow') await new Promise((resolve) => setTimeout(resolve, 2000));
    const user = payload.messages[1]!.content;
    const counts = [...user.matchAll(/<trajectory id="(\d+)">([\s\S]*?)<\/trajectory>/g)].map(
      ([, id, text]) => ({ id, count: (text!.match(/refunded/g) ?? []).length }),
    );
    const best = Math.max(1, ...counts.map((item) => item.count));
    reply(
      `Here you go: ${JSON.stringify({
        scores: counts.reverse().map(({ id, count }) => ({
          trajectory_id: id,
          explanation: `${count}`,
          score: count / best,
        })),
      })}`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const context: Message[] = [
  { role: 'system', content: 'You are a support agent.' },
  { role: 'user', content: 'Refund my order.' },
];
const trajectories = [
  { id: 'a', messages: [...context, { role: 'assistant' as const, content: 'No.' }] },
  {
    id: 'b',
    messages: [
      ...context,
      { role: 'assistant' as const, content: 'I refunded it; refunded in full.' },
    ],
  },
  { id: 'c', messages: [...context, { role: 'assistant' as const, content: 'I refunded it.' }] },
];

describe('createJudgeRanker with an OpenAI-compatible judge', () => {
  it('ranks a group, shows the shared context once, and caches', async () => {
    const ranker = createJudgeRanker({
      model: createOpenAiCompatibleChatModel({ baseUrl, model: 'judge', apiKey: 'secret' }),
    });
    const before = requests.length;
    const result = await ranker.scoreGroup({ groupId: 'g0', trajectories });
    expect(result.scores).toEqual([0, 1, 0.5]);
    expect(result.explanations).toEqual(['0', '2', '1']);
    expect(result.report).toMatchObject({ groupId: 'g0', trajectories: 3, cached: false });
    expect(result.report.error).toBeUndefined();
    const sent = requests.at(-1)!;
    expect(sent.model).toBe('judge');
    expect(sent.authorization).toBe('Bearer secret');
    expect(sent.messages[0]!.content).toContain('achieves its goal');
    expect(sent.messages[1]!.content.match(/You are a support agent/g)).toHaveLength(1);
    expect(sent.messages[1]!.content).toContain(
      '<trajectory id="3">\n[assistant] I refunded it.\n</trajectory>',
    );
    const again = await ranker.scoreGroup({ groupId: 'g1', trajectories });
    expect(again.scores).toEqual([0, 1, 0.5]);
    expect(again.report.cached).toBe(true);
    expect(requests.length).toBe(before + 1);
    expect(ranker.calls.map((call) => call.cached)).toEqual([false, true]);
  });

  it('reports a timeout, a failed request and an unparsable answer, and scores nothing', async () => {
    const cases = [
      ['slow', 'timeout', /no answer within 200 ms/],
      ['broken', 'request', /HTTP 500: overloaded/],
      ['garbage', 'parse', /no JSON object/],
    ] as const;
    for (const [model, kind, message] of cases) {
      const ranker = createJudgeRanker({
        model: createOpenAiCompatibleChatModel({ baseUrl, model }),
        // Only the slow judge should time out, however loaded the machine is.
        timeoutMs: model === 'slow' ? 200 : 30_000,
      });
      const result = await ranker.scoreGroup({ groupId: model, trajectories });
      expect(result.scores).toEqual([null, null, null]);
      expect(result.report.error?.kind).toBe(kind);
      expect(result.report.error?.message).toMatch(message);
    }
  });

  it('adds scores to a group as a weighted reward, null adding nothing', () => {
    const group = {
      groupId: 'g',
      scenarioId: 's',
      trajectories: [0, 1].map((index) => ({
        totalReward: 1,
        rewardsByFunction: { base: 1 },
        id: `t${index}`,
      })),
    } as unknown as TrajectoryGroup;
    const scored = withGroupScores({ group, scores: [0.5, null], name: 'judge', weight: 2 });
    expect(scored.trajectories.map((item) => [item.totalReward, item.rewardsByFunction])).toEqual([
      [2, { base: 1, judge: 0.5 }],
      [1, { base: 1, judge: null }],
    ]);
  });

  it('refuses bad options by field', () => {
    expect(() => createJudgeRanker({ model: {} as never })).toThrow(/model/);
    expect(() => createOpenAiCompatibleChatModel({ baseUrl: 'localhost', model: 'x' })).toThrow(
      /baseUrl/,
    );
  });
});
