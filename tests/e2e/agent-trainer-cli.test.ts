import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cliPath = path.join(root, 'apps/agent-trainer/src/bin.ts');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI the way a user of the workspace does. */
function runCli(
  args: readonly string[],
  options: { input?: string; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@cohort/source', '--import', 'tsx', cliPath, ...args],
      {
        cwd: options.cwd ?? root,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

function expectOneLine(text: string): void {
  const lines = text.trim().split('\n');
  expect(lines, text).toHaveLength(1);
  expect(text).not.toMatch(/\n\s+at /);
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-e2e-'));
});

// Every test here is its own set of processes and folders: they run at once.
describe.concurrent('agent-trainer CLI', () => {
  it('prints help with the commands and exit codes', async () => {
    const [result, unknown] = await Promise.all([runCli(['--help']), runCli(['trian'])]);
    expect(result.code).toBe(0);
    for (const command of ['train', 'eval', 'chat', 'sft', 'report'])
      expect(result.stdout).toContain(`agent-trainer ${command}`);
    expect(result.stdout).toContain('130 interrupted');
    expect(unknown.code).toBe(2);
    expectOneLine(unknown.stderr);
  });

  it('refuses a bad config before any work, naming the field and the allowed keys', async () => {
    const config = path.join(scratch, 'bad.yaml');
    await writeFile(config, 'trainer:\n  steps: 3\n  optimizer:\n    lr: 0.01\n  groupSize: 1\n');
    const runsRoot = path.join(scratch, 'runs-bad');
    const result = await runCli(['train', '--config', config, '--runs-root', runsRoot]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('agent-trainer: invalid config:');
    expect(result.stderr).toMatch(
      /trainer\.optimizer\.lr: unknown key; allowed keys: type, learningRate/,
    );
    expect(result.stderr).toMatch(/trainer\.groupSize: .*>=2/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(runsRoot)).toBe(false);
  });

  it('refuses a module that does not export an environment with one line', async () => {
    const module = path.join(scratch, 'not-an-env.mjs');
    await writeFile(module, 'export const scenarios = [];\nexport const helper = 1;\n');
    const [result, missing] = await Promise.all([
      runCli(['train', '--environment', module, '--runs-root', path.join(scratch, 'runs-module')]),
      runCli(['train', '--environment', path.join(scratch, 'nope.ts')]),
    ]);
    expect(result.code).toBe(2);
    expectOneLine(result.stderr);
    expect(result.stderr).toMatch(/does not export an environment.*it exports helper, scenarios/);
    expect(missing.code).toBe(2);
    expectOneLine(missing.stderr);
    expect(missing.stderr).toContain('environment module not found');
  });

  it('regenerates the report of a run directory from its metrics', async () => {
    const run = path.join(scratch, 'runs', '20250101-000000-synthetic');
    await mkdir(run, { recursive: true });
    await writeFile(
      path.join(run, 'config.resolved.json'),
      JSON.stringify({ name: 'synthetic', trainer: { steps: 6 } }),
    );
    const lines: object[] = [
      {
        kind: 'evaluation',
        step: 0,
        time: 't',
        episodes: 4,
        rewardMean: 0.2,
        rewardStd: 0.1,
        successRate: 0,
      },
    ];
    for (let step = 1; step <= 6; step++) {
      lines.push({
        kind: 'step',
        step,
        time: 't',
        episodes: 8 * step,
        rewardMean: 0.2 + 0.1 * step,
        rewardStd: 0.1,
        rewardMeanByFunction: { goal: 0.1 * step },
        klToReference: 0.01 * step,
        entropy: 1.5,
        completionLengthMean: 20,
        completionLengthMax: 30,
        clipFractionLow: 0,
        clipFractionHigh: 0.1,
        tokensPerSecond: 50,
        successRate: 0.1 * step,
      });
    }
    lines.push({
      kind: 'generation',
      step: 4,
      time: 't',
      generation: 1,
      bestFitness: 0.7,
      meanFitness: 0.5,
      worstFitness: 0.2,
      diversity: 0.3,
      adopted: null,
    });
    lines.push({
      kind: 'evaluation',
      step: 6,
      time: 't',
      episodes: 4,
      rewardMean: 0.6,
      rewardStd: 0.1,
      successRate: 0.5,
    });
    await writeFile(
      path.join(run, 'metrics.jsonl'),
      `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`,
    );
    await writeFile(
      path.join(run, 'samples.jsonl'),
      `${JSON.stringify({
        step: 6,
        scenarioId: 's1',
        reward: 1,
        endReason: 'success',
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
        ],
      })}\n`,
    );
    const [result, missing] = await Promise.all([
      runCli(['report', run]),
      runCli(['report', path.join(scratch, 'no-such-run')]),
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(`wrote ${path.join(run, 'report.html')}`);
    const html = await readFile(path.join(run, 'report.html'), 'utf8');
    const points = [...html.matchAll(/data-points="(\d+)"/g)].map((match) => Number(match[1]));
    // 15 training plots (the fixture's steps log no loss, gradient norm, learning rate, truncation,
    // zero-spread share, reply diversity or timings: those plots stay empty), 3 evaluation plots
    // (2 evaluations; the per-category plot is empty without categories), then the fitness plot
    // (3 curves of 1 generation).
    expect(points).toEqual([6, 6, 0, 0, 0, 6, 6, 12, 0, 0, 0, 0, 12, 6, 6, 2, 2, 0, 3]);
    expect(html).toContain('+0.400');

    expect(missing.code).toBe(2);
    expectOneLine(missing.stderr);
    expect(missing.stderr).toContain('run directory not found');
  });

  it('reports a missing model directory in one line', async () => {
    const result = await runCli(['chat', '--model', path.join(scratch, 'no-model')], {
      input: 'hello\n',
    });
    expect(result.code).toBe(2);
    expectOneLine(result.stderr);
    expect(result.stderr).toContain('model directory not found');
  });

  describe('with a tiny model made by sft', () => {
    let modelDirectory: string;
    beforeAll(async () => {
      modelDirectory = path.join(scratch, 'tiny-model');
      const result = await runCli([
        'sft',
        '--out',
        modelDirectory,
        '--steps',
        '4',
        '--dialogues',
        '16',
        '--vocab-size',
        '300',
        '--json',
      ]);
      expect(result.code, result.stderr).toBe(0);
    });

    it('writes the Hugging Face layout, the ONNX export and training.json', async () => {
      const files = await readdir(modelDirectory);
      for (const name of [
        'config.json',
        'model.safetensors',
        'tokenizer.json',
        'tokenizer_config.json',
        'generation_config.json',
        'training.json',
      ]) {
        expect(files).toContain(name);
      }
      expect(existsSync(path.join(modelDirectory, 'onnx', 'model.onnx'))).toBe(true);
      const training = JSON.parse(
        await readFile(path.join(modelDirectory, 'training.json'), 'utf8'),
      );
      expect(training).toMatchObject({
        seed: 0,
        steps: 4,
        dialogues: 16,
        command: 'agent-trainer sft --seed 0 --steps 4 --dialogues 16 --vocab-size 300',
      });
      expect(training.finalLoss).toBeLessThan(training.initialLoss);
    });

    it('chats over piped stdin, one reply per line', async () => {
      const result = await runCli(
        ['chat', '--model', modelDirectory, '--max-new-tokens', '8', '--json'],
        {
          input: 'I want a refund\nThanks\n',
        },
      );
      expect(result.code, result.stderr).toBe(0);
      const replies = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(replies.map((reply) => reply.user)).toEqual(['I want a refund', 'Thanks']);
      for (const reply of replies) expect(typeof reply.agent).toBe('string');
    });

    it('evaluates on held-out scenarios and refuses a corrupt checkpoint in one line', async () => {
      const run = path.join(scratch, 'corrupt-run');
      await mkdir(path.join(run, 'checkpoints', 'step-000002'), { recursive: true });
      await writeFile(
        path.join(run, 'config.resolved.json'),
        JSON.stringify({ trainer: {}, policy: { type: 'tfjs-lm', modelDirectory } }),
      );
      await writeFile(path.join(run, 'checkpoints', 'step-000002', 'manifest.json'), '{ not json');
      const [result, corrupt] = await Promise.all([
        runCli(['eval', '--model', modelDirectory, '--scenarios', '2', '--json']),
        runCli(['eval', '--run-dir', run, '--scenarios', '1']),
      ]);
      expect(result.code, result.stderr).toBe(0);
      const records = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(records.filter((record) => record.type === 'scenario')).toHaveLength(2);
      expect(records.at(-1)).toMatchObject({ type: 'summary', episodes: 2, scenarios: 2 });

      expect(corrupt.code).toBe(1);
      expectOneLine(corrupt.stderr);
      expect(corrupt.stderr).toMatch(/^agent-trainer: Checkpoint .*step-000002/);
    });
  });
});
