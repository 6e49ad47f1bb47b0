import { appendFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, ValidationError } from '@cohort/core';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type ConsoleServer, createConsoleServer } from '../src/console-server';
import { FeedbackBroker } from '../src/feedback-broker';
import { stepRecord, writeFixtureRun } from './fixture-run';
import { readEvents, type ServerEvent, waitFor } from './sse-client';

const webDirectory = inject('webDirectory');
const servers: ConsoleServer[] = [];

async function start(options: Parameters<typeof createConsoleServer>[0]) {
  const server = await createConsoleServer({ webDirectory, pollMs: 20, ...options });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A raw request, so the Host header and the body can be anything. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

describe('createConsoleServer', () => {
  it('refuses bad run directories and options with errors that name them', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'cohort-console-bad-'));
    await mkdir(path.join(root, 'empty'));
    await writeFile(path.join(root, 'file.txt'), 'x');
    const missing = path.join(root, 'missing');
    await expect(start({ runDirectories: [missing] })).rejects.toThrow(
      /runDirectories\[0\].*is not a directory/,
    );
    await expect(start({ runDirectories: [path.join(root, 'file.txt')] })).rejects.toThrow(
      /is not a directory/,
    );
    const error = await start({ runDirectories: [path.join(root, 'empty')] }).catch(
      (caught) => caught,
    );
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/is not a run directory .*metrics\.jsonl/);
    await expect(start({ runDirectories: [] })).rejects.toSatisfy(ValidationError.isInstance);
    await expect(start({ runDirectories: [root], port: 70_000 })).rejects.toThrow(/port/);
    await expect(
      start({ runDirectories: [root], webDirectory: path.join(root, 'empty') }),
    ).rejects.toThrow(/webDirectory.*has no index\.html: build the front-end first/);
  });

  it('serves a folder of runs, their files as JSON, and clear errors for bad requests', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'cohort-console-runs-'));
    const { trajectories } = await writeFixtureRun({ root, name: 'run-a', steps: 12 });
    await writeFixtureRun({ root, name: 'run-b', steps: 4 });
    await mkdir(path.join(root, 'not-a-run'));
    const server = await start({ runDirectories: [root] });
    const base = `http://127.0.0.1:${server.port}`;
    expect(server.url).toBe(`${base}/`);
    const runs = (await (await fetch(`${base}/api/runs`)).json()) as { id: string }[];
    expect(runs.map((run) => run.id)).toEqual(['run-a', 'run-b']);

    const metrics = (await (await fetch(`${base}/api/runs/run-a/metrics`)).json()) as {
      kind: string;
      loss: unknown;
    }[];
    expect(metrics.filter((record) => record.kind === 'step')).toHaveLength(12);
    expect(metrics.find((record) => record.kind === 'step' && record.loss === 'NaN')).toBeDefined();

    const data = (await (await fetch(`${base}/api/runs/run-a/trajectories`)).json()) as {
      samples: { messages: { content: string }[] }[];
      trajectories: unknown[];
    };
    expect(data.trajectories).toEqual(trajectories);
    expect(data.samples[0]!.messages[1]!.content).toBe('Refund issued <script>alert(1)</script>.');

    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await page.text()).toContain('<div id="app">');

    const cases: [string, Parameters<typeof raw>[1], number, RegExp][] = [
      ['/api/runs/nope/metrics', {}, 404, /no run "nope"; runs: run-a, run-b/],
      ['/api/runs/run-a/secrets', {}, 404, /no such endpoint/],
      ['/../../etc/passwd', {}, 404, /no such page/],
      ['/api/runs/..%2F..%2Fetc/metrics', {}, 404, /no run/],
      ['/package.json', {}, 404, /no such page/],
      ['/api/runs/run-a/metrics', { method: 'DELETE' }, 405, /DELETE not allowed/],
      [
        '/api/runs/run-a/feedback',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
        409,
        /no trainer waiting/,
      ],
    ];
    for (const [pathname, options, status, message] of cases) {
      const response = await raw(`${base}${pathname}`, options);
      expect(response.status, pathname).toBe(status);
      expect(JSON.parse(response.body).error, pathname).toMatch(message);
    }
    // DNS rebinding: a page on another name that resolves to 127.0.0.1 is turned away.
    const rebound = await raw(`${base}/api/runs`, { headers: { host: 'evil.example:80' } });
    expect(rebound.status).toBe(403);
    expect(
      await raw(`${base}/api/runs`, { headers: { host: `localhost:${server.port}` } }),
    ).toMatchObject({ status: 200 });
  });

  it('requires the token when bound beyond loopback', async () => {
    const { directory } = await writeFixtureRun({ name: 'run', steps: 2 });
    const server = await start({ runDirectories: [directory], host: '0.0.0.0' });
    const token = new URL(server.url).searchParams.get('token');
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const base = `http://127.0.0.1:${server.port}`;
    expect((await raw(`${base}/api/runs`)).status).toBe(401);
    expect((await raw(`${base}/api/runs?token=${token}x`)).status).toBe(401);
    expect((await raw(`${base}/?token=wrong`)).status).toBe(401);
    expect((await raw(`${base}/api/runs?token=${token}`)).status).toBe(200);
    expect(
      (await raw(`${base}/api/runs`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
  });

  it('streams a growing metrics log to many clients at once, each record exactly once', async () => {
    const { directory } = await writeFixtureRun({ name: 'live', steps: 3 });
    const server = await start({ runDirectories: [directory] });
    const url = `http://127.0.0.1:${server.port}/api/runs/live/metrics/stream`;
    const clients = 12;
    const received: number[][] = Array.from({ length: clients }, () => []);
    const closers = await Promise.all(
      received.map((steps) =>
        readEvents(url, (event: ServerEvent) => {
          if (event.event !== 'records') return;
          for (const record of JSON.parse(event.data) as { kind: string; step: number }[]) {
            if (record.kind === 'step') steps.push(record.step);
          }
        }),
      ),
    );
    const file = path.join(directory, 'metrics.jsonl');
    for (let step = 4; step <= 40; step++) {
      const line = `${JSON.stringify(stepRecord(step))}\n`;
      // Half a line first: the tail must hold it back until its newline arrives.
      await appendFile(file, line.slice(0, 25));
      if (step % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 30));
      await appendFile(file, line.slice(25));
    }
    const expected = Array.from({ length: 40 }, (_, index) => index + 1);
    await waitFor(() => received.every((steps) => steps.length >= 40), 5_000, 'all clients');
    for (const steps of received) expect(steps).toEqual(expected);
    for (const close of closers) close();
  });

  it('takes ratings for a waiting trainer, stores them, and names bad fields', async () => {
    const { directory } = await writeFixtureRun({ name: 'rated', steps: 2 });
    const broker = await FeedbackBroker.open({ runDirectory: directory });
    const server = await start({ runDirectories: [directory], feedback: [broker] });
    const base = `http://127.0.0.1:${server.port}/api/runs/rated/feedback`;
    const answered = broker.request({
      kind: 'choose',
      prompt: 'p',
      query: 'q?',
      candidates: ['a', 'b', 'c'],
    });
    const state = (await (await fetch(base)).json()) as {
      live: boolean;
      pending: { id: string }[];
    };
    expect(state.live).toBe(true);
    const itemId = state.pending[0]!.id;
    const post = (body: string, type = 'application/json') =>
      raw(base, { method: 'POST', headers: { 'content-type': type }, body });
    const bad: [string, number, RegExp, string?][] = [
      ['not json', 400, /not JSON/],
      ['[1]', 400, /must be a JSON object/],
      [
        JSON.stringify({ itemId, answer: 3, who: 'ann' }),
        400,
        /answer = 3: must be a candidate index in \[0, 2\]/,
      ],
      [JSON.stringify({ itemId, answer: 1, who: '' }), 400, /who = "": must be a name/],
      [
        JSON.stringify({ itemId: 'abc', answer: 1, who: 'ann' }),
        409,
        /itemId = "abc": is not a question/,
      ],
      [
        JSON.stringify({ itemId, answer: 1, who: 'ann' }),
        415,
        /Content-Type must be application\/json/,
        'text/plain',
      ],
      [`{"x":"${'a'.repeat(70_000)}"}`, 413, /over 65536 bytes/],
    ];
    for (const [body, status, message, type] of bad) {
      const response = await post(body, type);
      expect(response.status, body.slice(0, 40)).toBe(status);
      expect(JSON.parse(response.body).error).toMatch(message);
    }
    const ok = await post(JSON.stringify({ itemId, answer: 1, who: 'ann' }));
    expect(ok.status).toBe(200);
    expect((await answered).answer).toBe(1);
    const again = await post(JSON.stringify({ itemId, answer: 0, who: 'bob' }));
    expect(again.status).toBe(409);
    expect(JSON.parse(again.body).error).toMatch(/was already rated/);
    const stored = (await readFile(path.join(directory, 'feedback.jsonl'), 'utf8'))
      .trim()
      .split('\n');
    expect(stored).toHaveLength(1);
    expect(JSON.parse(stored[0]!)).toMatchObject({ itemId, answer: 1, who: 'ann', query: 'q?' });
  });

  it('checks chat requests before the chat implementation sees them', async () => {
    const { directory } = await writeFixtureRun({ name: 'talk', steps: 2 });
    const seen: unknown[] = [];
    const server = await start({
      runDirectories: [directory],
      chat: {
        async reply(request) {
          seen.push(request);
          return { reply: `echo: ${request.messages.at(-1)!.content}`, systemPrompt: 'Be kind.' };
        },
      },
    });
    const base = `http://127.0.0.1:${server.port}/api/runs/talk`;
    expect(await (await fetch(`${base}/checkpoints`)).json()).toEqual({
      chat: true,
      checkpoints: ['step-000002', 'step-000004', 'step-000010'],
      tools: null,
    });
    const post = (body: unknown) =>
      raw(`${base}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const user = (content: string) => ({ role: 'user', content });
    const bad: [unknown, RegExp][] = [
      [
        { checkpoint: '../../etc', messages: [user('hi')] },
        /checkpoint = "..\/..\/etc": must be null .* step-000002, step-000004, step-000010/,
      ],
      [{ checkpoint: null, messages: [] }, /messages = an array of length 0/],
      [
        { messages: [{ role: 'system', content: 'x' }] },
        /messages\[0\].role = "system": must be "user"/,
      ],
      [
        { messages: [user('a'), user('b'), user('c')] },
        /messages\[1\].role = "user": must be "assistant"/,
      ],
      [
        { messages: [user('a'), { role: 'assistant', content: 'b' }] },
        /must end with a user message/,
      ],
      [
        { messages: [user('x'.repeat(4_001))] },
        /messages\[0\].content = .*at most 4000 characters/,
      ],
    ];
    for (const [body, message] of bad) {
      const response = await post(body);
      expect(response.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(JSON.parse(response.body).error).toMatch(message);
    }
    expect(seen).toEqual([]);
    const ok = await post({ checkpoint: 'step-000004', messages: [user('<b>hi</b>')] });
    expect(JSON.parse(ok.body)).toEqual({ reply: 'echo: <b>hi</b>', systemPrompt: 'Be kind.' });
    expect(seen).toEqual([
      { runDirectory: directory, checkpoint: 'step-000004', messages: [user('<b>hi</b>')] },
    ]);

    const plain = await start({ runDirectories: [directory] });
    const off = await raw(`http://127.0.0.1:${plain.port}/api/runs/talk/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [user('hi')] }),
    });
    expect(off.status).toBe(409);
    expect(JSON.parse(off.body).error).toMatch(/chat is off/);
  });

  it('checks requests of the chat with tools before the chat sees them, and says when a run has no tools', async () => {
    const { directory } = await writeFixtureRun({ name: 'desk', steps: 2 });
    const { directory: plainRun } = await writeFixtureRun({ name: 'plain', steps: 2 });
    const seen: unknown[] = [];
    const state = {
      session: 's1',
      scenarioId: 'task-1',
      messages: [{ role: 'system' as const, content: 'Tools: <find_customer>' }],
      toolCalls: [],
      tokenCount: 12,
      done: false,
    };
    const server = await start({
      runDirectories: [directory, plainRun],
      chat: {
        async reply() {
          return { reply: '', systemPrompt: '' };
        },
        async toolScenarios(runDirectory) {
          return runDirectory === directory ? [{ id: 'task-1', label: 'refund' }] : null;
        },
        async tools(request) {
          seen.push(request);
          return state;
        },
      },
    });
    const base = `http://127.0.0.1:${server.port}/api/runs`;
    expect(await (await fetch(`${base}/desk/checkpoints`)).json()).toMatchObject({
      tools: [{ id: 'task-1', label: 'refund' }],
    });
    expect(await (await fetch(`${base}/plain/checkpoints`)).json()).toMatchObject({
      tools: null,
    });
    const post = (run: string, body: unknown) =>
      raw(`${base}/${run}/chat/tools`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const bad: [unknown, RegExp][] = [
      [{ action: 'run' }, /action = "run": must be "start", "say" or "close"/],
      [{ action: 'start', checkpoint: 'step-9' }, /checkpoint = "step-9": must be null/],
      [{ action: 'start', scenario: 7 }, /scenario = 7: must be a scenario id or null/],
      [{ action: 'say', message: 'hi' }, /session = undefined: must be the session id/],
      [{ action: 'say', session: 's1', message: ' ' }, /message = " ": must be a non-empty string/],
      [
        { action: 'say', session: 's1', message: 'x'.repeat(4_001) },
        /message = .*at most 4000 characters/,
      ],
    ];
    for (const [body, message] of bad) {
      const response = await post('desk', body);
      expect(response.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(JSON.parse(response.body).error).toMatch(message);
    }
    expect(seen).toEqual([]);
    const started = await post('desk', {
      action: 'start',
      checkpoint: 'step-000004',
      scenario: null,
    });
    expect(JSON.parse(started.body)).toEqual(state);
    await post('desk', { action: 'say', session: 's1', message: '<i>hello</i>' });
    await post('desk', { action: 'close', session: 's1', message: 'ignored' });
    expect(seen).toEqual([
      { action: 'start', runDirectory: directory, checkpoint: 'step-000004', scenario: null },
      { action: 'say', runDirectory: directory, session: 's1', message: '<i>hello</i>' },
      { action: 'close', runDirectory: directory, session: 's1' },
    ]);
    const none = await post('plain', { action: 'start', scenario: null });
    expect(none.status).toBe(409);
    expect(JSON.parse(none.body).error).toMatch(/plain's environment offers no tools/);
  });
});
