import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cliPath = path.join(root, 'apps/agent-trainer/src/bin.ts');

/** Runs the CLI from the workspace's sources; `onOutput` sees stdout and stderr as they grow. */
function runCli(
  args: readonly string[],
  onOutput?: (output: { stdout: string; stderr: string }, child: ReturnType<typeof spawn>) => void,
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@cohort/source', '--import', 'tsx', cliPath, ...args],
      {
        cwd: root,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      },
    );
    if (input !== undefined) child.stdin!.end(input);
    const output = { stdout: '', stderr: '' };
    child.stdout!.on('data', (chunk: Buffer) => {
      output.stdout += chunk.toString();
      onOutput?.(output, child);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output.stderr += chunk.toString();
      onOutput?.(output, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, ...output }));
  });
}

/** Runs `train --config CONFIG --run-dir DIR --console` and calls `onOpen` once with the console's URL. */
function trainWithConsole(
  configPath: string,
  runDirectory: string,
  onOpen: (url: string) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let opened = false;
  return runCli(
    [
      'train',
      '--config',
      configPath,
      '--run-dir',
      runDirectory,
      '--console',
      '--console-port',
      '0',
    ],
    ({ stderr }) => {
      const url = /console: open (http:\/\/\S+)/.exec(stderr)?.[1];
      if (!url || opened) return;
      opened = true;
      onOpen(url);
    },
  );
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-console-e2e-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

// The two runs are independent processes in folders of their own: they run at once.
describe.concurrent('agent-trainer train --console and console', () => {
  it('streams a training run to the console live and logs its trajectories, then serves the finished run', async () => {
    const configPath = path.join(scratch, 'short.yaml');
    await writeFile(
      configPath,
      [
        'name: short',
        'trainer:',
        '  seed: 5',
        '  steps: 2',
        '  scenariosPerStep: 1',
        '  groupSize: 2',
        '  generation: { maxNewTokens: 12 }',
        '  evaluation: { everySteps: 2, maxScenarios: 1 }',
        '  evolution: { everyEpisodes: 0 }',
        '',
      ].join('\n'),
    );
    const runDirectory = path.join(scratch, 'run');
    const liveSteps: number[] = [];
    let streaming: Promise<void> | undefined;
    const controller = new AbortController();
    const result = await trainWithConsole(configPath, runDirectory, (url) => {
      // A client that follows the run while it trains, as the browser's EventSource does.
      streaming = (async () => {
        const response = await fetch(new URL('api/runs/run/metrics/stream', url), {
          signal: controller.signal,
        });
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            for (const match of value.matchAll(/^data: (\[.*\])$/gm)) {
              for (const record of JSON.parse(match[1]!) as { kind: string; step: number }[]) {
                if (record.kind === 'step') liveSteps.push(record.step);
              }
            }
          }
        } catch {
          // The server closes the stream when training ends.
        }
      })();
    });
    controller.abort();
    await streaming;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/console closed; to keep looking: agent-trainer console /);
    expect(liveSteps).toEqual([1, 2]);

    const lines = (await readFile(path.join(runDirectory, 'trajectories.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    // One group of 2 rollouts per step, numbered as in metrics.jsonl.
    expect(lines.map((line) => line.step)).toEqual([1, 1, 2, 2]);
    for (const line of lines) {
      const agentTurns = line.turns.filter((turn: { role: string }) => turn.role === 'assistant');
      expect(agentTurns.length).toBeGreaterThan(0);
      for (const turn of agentTurns) {
        expect(turn.tokens.length).toBeGreaterThan(0);
        for (const token of turn.tokens) {
          expect(Number.isInteger(token.id)).toBe(true);
          expect(token.logProb).toBeLessThanOrEqual(0);
          // What the learner made of the token: its advantage and the policy's entropy there.
          expect(Number.isFinite(token.advantage)).toBe(true);
          expect(token.entropy).toBeGreaterThan(0);
        }
      }
    }

    // The finished run, served by `console`, until Ctrl-C; beside it, the terminal chat with the
    // run's newest checkpoint and a console refused a missing folder (each reads only).
    const question = 'Hello, my order arrived broken.';
    let checked: Promise<unknown> | undefined;
    const serving = runCli(
      ['console', runDirectory, '--port', '0', '--json'],
      ({ stdout }, child) => {
        const line = stdout.split('\n').find((text) => text.startsWith('{'));
        if (!line || checked) return;
        const { url, runs } = JSON.parse(line) as { url: string; runs: string[] };
        checked = (async () => {
          const page = await fetch(url);
          const trajectories = (await (
            await fetch(new URL('api/runs/run/trajectories', url))
          ).json()) as {
            trajectories: unknown[];
          };
          const chat = await fetch(new URL('api/runs/run/chat', url), {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({
              checkpoint: 'step-000002',
              messages: [{ role: 'user', content: question }],
            }),
          });
          const answer = (await chat.json()) as { reply: string; systemPrompt: string };
          child.kill('SIGINT');
          return {
            runs,
            page: page.status,
            count: trajectories.trajectories.length,
            chat: chat.status,
            answer,
          };
        })();
      },
    );
    const [served, terminal, refused] = await Promise.all([
      serving,
      runCli(['chat', '--run-dir', runDirectory], undefined, `${question}\n`),
      runCli(['console', path.join(scratch, 'missing'), '--port', '0']),
    ]);
    expect(served.code, served.stderr).toBe(0);
    const console = (await checked) as { answer: { reply: string; systemPrompt: string } };
    expect(console).toMatchObject({ runs: ['run'], page: 200, count: 4, chat: 200 });
    expect(console.answer.systemPrompt.length).toBeGreaterThan(0);
    expect(console.answer.reply.length).toBeGreaterThan(0);
    // The console's chat answers as the terminal chat does with the run's newest checkpoint (greedy).
    expect(terminal.code, terminal.stderr).toBe(0);
    expect(console.answer.reply).toBe(terminal.stdout.trim());

    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/runDirectories\[0\].*is not a directory/);
  });

  it('trains on a person’s scores from the feedback page: a human-feedback reward with --console', async () => {
    const configPath = path.join(scratch, 'rated.yaml');
    await writeFile(
      configPath,
      [
        'name: rated',
        'environment: { type: bandit, armMeans: [0, 0] }',
        'rewards: [{ type: human-feedback, timeoutSeconds: 300 }]',
        'trainer:',
        '  seed: 3',
        '  steps: 1',
        '  scenariosPerStep: 1',
        '  groupSize: 2',
        '  generation: { maxNewTokens: 6 }',
        '  evolution: { everyEpisodes: 0 }',
        '',
      ].join('\n'),
    );
    // Without --console the run is refused; with it, it trains (two processes, run at once).
    const refusing = runCli([
      'train',
      '--config',
      configPath,
      '--run-dir',
      path.join(scratch, 'never'),
    ]);

    const runDirectory = path.join(scratch, 'rated');
    let rating: Promise<{ candidates: string[]; status: number }> | undefined;
    const training = trainWithConsole(configPath, runDirectory, (url) => {
      // A person on the feedback page: the page polls this state and posts the scores as here.
      rating = (async () => {
        for (;;) {
          const state = (await (await fetch(new URL('api/runs/rated/feedback', url))).json()) as {
            pending: { id: string; kind: string; candidates: string[] }[];
          };
          const item = state.pending[0];
          if (item) {
            expect(item.kind).toBe('group');
            const response = await fetch(new URL('api/runs/rated/feedback', url), {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ itemId: item.id, answer: [1, 0], who: 'ada' }),
            });
            return { candidates: item.candidates, status: response.status };
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })();
    });
    const [refused, result] = await Promise.all([refusing, training]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/human-feedback.*add --console/);
    expect(result.code, result.stderr).toBe(0);
    const rated = await rating!;
    expect(rated.status).toBe(200);
    expect(rated.candidates).toHaveLength(2);
    const stored = JSON.parse(
      (await readFile(path.join(runDirectory, 'feedback.jsonl'), 'utf8')).trim(),
    );
    expect(stored).toMatchObject({ who: 'ada', itemKind: 'group', answer: [1, 0] });
    // The scores reached the trainer: the step's reward by function, and each rollout's own score.
    const metrics = (await readFile(path.join(runDirectory, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((record) => record.kind === 'step');
    expect(metrics[0].rewardMeanByFunction['human-feedback']).toBeCloseTo(0.5, 12);
    const lines = (await readFile(path.join(runDirectory, 'trajectories.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.rewardsByFunction['human-feedback'])).toEqual([1, 0]);
    // ... and the update: the rollout scored 1 was pushed up (positive advantage), the other down.
    const advantages = lines.map((line) =>
      line.turns
        .flatMap((turn: { tokens?: { advantage: number }[] }) => turn.tokens ?? [])
        .map((token: { advantage: number }) => token.advantage),
    );
    expect(advantages[0]!.length).toBeGreaterThan(0);
    expect(advantages[0]!.every((value: number) => value > 0)).toBe(true);
    expect(advantages[1]!.every((value: number) => value < 0)).toBe(true);
  });
});
