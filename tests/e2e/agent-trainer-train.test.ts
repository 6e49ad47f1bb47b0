import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cliPath = path.join(root, 'apps/agent-trainer/src/bin.ts');

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user of the workspace does; `onStderr` may act on its progress lines. */
function runCli(
  args: readonly string[],
  onStderr?: (text: string, child: ReturnType<typeof spawn>) => void,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@cohort/source', '--import', 'tsx', cliPath, ...args],
      {
        cwd: root,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

let scratch: string;
let configPath: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-train-e2e-'));
  // The default run, made short: fewer steps and held-out scenarios, checkpoints every 2 steps.
  configPath = path.join(scratch, 'short.yaml');
  await writeFile(
    configPath,
    [
      'name: short',
      'preset: balanced',
      'trainer:',
      '  seed: 3',
      '  steps: 4',
      '  scenariosPerStep: 2',
      '  groupSize: 4',
      '  minibatchSize: 8',
      '  generation: { maxNewTokens: 32 }',
      '  evaluation: { everySteps: 4, maxScenarios: 4 }',
      '  checkpoint: { everySteps: 2, keep: 2 }',
      '  evolution: { everyEpisodes: 16, populationSize: 3, fitnessScenarios: 2 }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function readSummary(runDirectory: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(runDirectory, 'summary.json'), 'utf8'));
}

// The three runs are independent processes in folders of their own: they run at once.
describe.concurrent('agent-trainer train', () => {
  it('trains, checkpoints, evolves prompts, evaluates and writes the report', async () => {
    const runDirectory = path.join(scratch, 'run');
    const result = await runCli([
      'train',
      '--config',
      configPath,
      '--run-dir',
      runDirectory,
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    // Quiet by default: with --json, stderr carries only errors and warnings.
    expect(result.stderr).toBe('');
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.filter((line) => line.type === 'step')).toHaveLength(4);
    expect(lines.filter((line) => line.type === 'generation')).toHaveLength(2);
    expect(lines.at(-1).type).toBe('summary');
    const summary = await readSummary(runDirectory);
    expect(summary.status).toBe('completed');
    expect(summary.stepsCompleted).toBe(4);
    expect(summary.generations).toBe(2);
    expect(await readdir(path.join(runDirectory, 'checkpoints'))).toEqual([
      'step-000002',
      'step-000004',
    ]);
    for (const file of ['config.resolved.json', 'metrics.jsonl', 'samples.jsonl', 'report.html']) {
      expect(existsSync(path.join(runDirectory, file)), file).toBe(true);
    }
    // The run records the engines it resolved (the config leaves them to their defaults).
    const written = JSON.parse(
      await readFile(path.join(runDirectory, 'config.resolved.json'), 'utf8'),
    );
    const engines = { sampler: 'onnx', reference: 'onnx', learner: 'onnx' };
    expect(written.engine).toMatchObject(engines);
    expect(summary.engines).toEqual(engines);
    // The process's peak resident memory in MB: tfjs, ONNX Runtime and the model take well
    // over 100 MB, and a figure in KB or bytes would be far above 4096.
    expect(summary.peakRssMegabytes).toBeGreaterThan(100);
    expect(summary.peakRssMegabytes).toBeLessThan(4096);

    // Resume to 6 steps: it continues from the checkpoint at step 4.
    const resumed = await runCli(['train', '--resume', runDirectory, '--steps', '6']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming .* from step 4/);
    expect(resumed.stderr).toMatch(/engines: sampler onnx, reference onnx, learner onnx/);
    expect(resumed.stderr).toContain(
      `peak memory ${(await readSummary(runDirectory)).peakRssMegabytes} MB`,
    );
    expect((await readSummary(runDirectory)).stepsCompleted).toBe(6);

    // Evaluate the trained run on held-out scenarios.
    const evaluated = await runCli([
      'eval',
      '--run-dir',
      runDirectory,
      '--scenarios',
      '3',
      '--json',
    ]);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.stdout).toMatch(/rewardMean/);
  });

  it('proxy-tunes the embedded model run by transformers.js, from a config file', async () => {
    const proxyConfig = path.join(scratch, 'proxy.yaml');
    await writeFile(
      proxyConfig,
      [
        'name: proxy',
        'trainer:',
        '  steps: 2',
        '  scenariosPerStep: 2',
        '  groupSize: 4',
        '  evaluation: { everySteps: 2, maxScenarios: 2 }',
        '  evolution: { everyEpisodes: 0 }',
        'policy:',
        '  type: proxy',
        `  baseModelDirectory: ${path.join(root, 'apps/agent-trainer/models/support-agent-tiny')}`,
        '  delta: { layerCount: 1, embeddingSize: 32, headCount: 2 }',
        '',
      ].join('\n'),
    );
    const runDirectory = path.join(scratch, 'proxy-run');
    const [result, missing] = await Promise.all([
      runCli(['train', '--config', proxyConfig, '--run-dir', runDirectory]),
      runCli([
        'train',
        '--config',
        proxyConfig.replace('proxy.yaml', 'missing.yaml'),
        '--run-dir',
        path.join(scratch, 'never'),
      ]),
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect((await readSummary(runDirectory)).stepsCompleted).toBe(2);
    // The checkpoint holds the delta model only: the frozen base is not copied.
    const checkpoint = path.join(runDirectory, 'checkpoints', 'step-000002');
    const manifest = JSON.parse(await readFile(path.join(checkpoint, 'manifest.json'), 'utf8'));
    expect(JSON.stringify(manifest)).toMatch(/delta_head\.weight/);
    expect(missing.code).toBe(2);
  });

  it('saves a checkpoint and the report on Ctrl-C, and exits with 130', async () => {
    const runDirectory = path.join(scratch, 'interrupted');
    let sent = false;
    const result = await runCli(
      ['train', '--config', configPath, '--run-dir', runDirectory, '--steps', '40'],
      (text, child) => {
        if (!sent && /step 1\/40/.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    );
    expect(sent).toBe(true);
    expect(result.code, result.stderr).toBe(130);
    const summary = await readSummary(runDirectory);
    expect(summary.status).toBe('interrupted');
    const steps = summary.stepsCompleted as number;
    expect(steps).toBeGreaterThanOrEqual(1);
    expect(steps).toBeLessThan(40);
    expect(await readdir(path.join(runDirectory, 'checkpoints'))).toContain(
      `step-${String(steps).padStart(6, '0')}`,
    );
    expect(existsSync(path.join(runDirectory, 'report.html'))).toBe(true);
  });
});
