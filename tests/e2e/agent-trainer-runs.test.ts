import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, root, runCli } from './cli-process';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-runs-e2e-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function writeConfig(name: string, lines: string[]): Promise<string> {
  const file = path.join(scratch, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

describe.concurrent('agent-trainer refuses before creating anything', () => {
  it('maxNewTokens with no room for a turn, a regex that does not compile, a missing module, an empty file: exit 2, nothing written', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['trainer:', '  generation: { maxNewTokens: 230 }'],
        /trainer\.generation\.maxNewTokens: leaves no room for an agent turn: the shortest opening prompt/,
      ],
      [
        ['rewards:', '  - { type: regex, options: { pattern: "refund (" } }'],
        /rewards\.0\.options\.pattern: is not a valid regular expression/,
      ],
      [
        ['rewards:', '  - { type: module, module: ./no-such-reward.ts }'],
        /reward module not found: .*no-such-reward\.ts/,
      ],
      [['# nothing but a comment'], /is empty \(or only comments or null\)/],
    ];
    // The cases are independent processes, each with a runs root of its own: run them at once.
    await Promise.all(
      cases.map(async ([lines, message], index) => {
        const runsRoot = path.join(scratch, `refused-runs-${index}`);
        await mkdir(runsRoot);
        const config = await writeConfig(`refused-${index}.yaml`, lines);
        const result = await runCli(['train', '--config', config, '--runs-root', runsRoot]);
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toMatch(message);
        expect(await readdir(runsRoot)).toEqual([]);
      }),
    );
  });
});

describe.concurrent('agent-trainer with untrusted or busy run folders', () => {
  it('does not import the modules a received run folder names unless told to trust them', async () => {
    const run = path.join(scratch, 'received-run');
    await mkdir(path.join(run, 'checkpoints'), { recursive: true });
    const marker = path.join(scratch, 'their-code-ran');
    const module = path.join(scratch, 'their-reward.mjs');
    await writeFile(
      module,
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport const reward = { name: 'theirs', score: () => 1 };\n`,
    );
    await writeFile(
      path.join(run, 'config.resolved.json'),
      JSON.stringify({ trainer: { steps: 1 }, rewards: [{ type: 'module', module }] }),
    );
    for (const command of [
      ['train', '--resume', run],
      ['eval', '--run-dir', run],
    ]) {
      const result = await runCli(command);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('their-reward.mjs');
      expect(result.stderr).toContain('--trust-run-modules');
      expect(existsSync(marker)).toBe(false);
    }
    // A damaged config.resolved.json is a damaged run: exit 1, the file named.
    await writeFile(path.join(run, 'config.resolved.json'), '{"trainer": {"steps": 1}');
    const damaged = await runCli(['train', '--resume', run]);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(
      /received-run.config\.resolved\.json: the run's config is damaged: not JSON/,
    );
  });

  it('refuses a second process on a run that a live process holds', async () => {
    const run = path.join(scratch, 'busy-run');
    await mkdir(path.join(run, 'checkpoints'), { recursive: true });
    await writeFile(
      path.join(run, 'config.resolved.json'),
      JSON.stringify({ trainer: { steps: 1, evolution: { everyEpisodes: 0 } } }),
    );
    await writeFile(
      path.join(run, 'run.lock'),
      JSON.stringify({ pid: process.pid, host: hostname(), token: 'test' }),
    );
    const result = await runCli(['train', '--resume', run]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`is in use by process ${process.pid}`);
    expect(await readdir(run)).toEqual(['checkpoints', 'config.resolved.json', 'run.lock']);
  });
});

describe.concurrent('agent-trainer and user code that never settles', () => {
  it('fails a run whose reward never settles, naming module and function, and a command whose module never loads', async () => {
    const hung = path.join(scratch, 'hung-reward.mjs');
    await writeFile(
      hung,
      "export const reward = { name: 'hung', score: () => new Promise(() => {}) };\n",
    );
    const config = await writeConfig('hung.yaml', [
      'callTimeoutSeconds: 1',
      'trainer:',
      '  steps: 2',
      '  scenariosPerStep: 1',
      '  groupSize: 2',
      '  generation: { maxNewTokens: 4 }',
      '  evaluation: { everySteps: 0, maxScenarios: 1 }',
      '  evolution: { everyEpisodes: 0 }',
      'rewards:',
      `  - { type: module, module: ${hung} }`,
    ]);
    const runDirectory = path.join(scratch, 'hung-run');
    const neverLoads = path.join(scratch, 'never-loads.mjs');
    await writeFile(neverLoads, 'await new Promise(() => {});\nexport const environment = {};\n');
    // Two independent processes: run them at once.
    const [result, stuck] = await Promise.all([
      runCli(['train', '--config', config, '--run-dir', runDirectory]),
      runCli(['train', '--environment', neverLoads, '--run-dir', path.join(scratch, 'never')]),
    ]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(
      /reward "hung" \(export reward of .*hung-reward\.mjs\) score\(\) did not settle within 1 s/,
    );
    const summary = JSON.parse(await readFile(path.join(runDirectory, 'summary.json'), 'utf8'));
    expect(summary.status).toBe('failed');

    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toMatch(
      /stopped without finishing: it awaited a promise that can never settle/,
    );
    expect(existsSync(path.join(scratch, 'never'))).toBe(false);
  });
});

describe.concurrent('agent-trainer chat in a terminal', () => {
  it('ends on /exit in a pseudo-terminal (script from util-linux), without Ctrl-D', async () => {
    const model = path.join(root, 'apps/agent-trainer/models/support-agent-tiny');
    const command = `'${process.execPath}' --conditions=@cohort/source --import tsx '${cliPath}' chat --model '${model}' --max-new-tokens 8`;
    // script gives the program a real terminal; its own stdin stays open, so only /exit can end it.
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let exitSentAt = 0;
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('agent> ') && output.endsWith('you> ')) child.stdin.write('hello\r');
      else if (exitSentAt === 0 && output.includes('agent> ') && output.endsWith('you> ')) {
        exitSentAt = performance.now();
        child.stdin.write('/exit\r');
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 300_000);
    const code = await closed;
    clearTimeout(guard);
    expect(exitSentAt, output).toBeGreaterThan(0);
    expect(code, output).toBe(0);
    // It ends at once, not when a timeout or the end of input stops it.
    expect(performance.now() - exitSentAt).toBeLessThan(20_000);
    expect(output).toMatch(/you> hello\r?\nagent> .+\r?\nyou> \/exit/);
  });
});
