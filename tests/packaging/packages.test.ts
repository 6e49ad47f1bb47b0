// The published packages as a user gets them: built, packed with `pnpm pack`,
// installed with npm into an empty project outside the repository, then
// imported with plain Node, run as `agent-trainer` with the user's own
// modules, bundled for the browser and loaded in headless Chromium, and
// checked by publint and arethetypeswrong. Run by `.ci/run` after the tests
// (`pnpm test:packages`); it needs the npm registry for the packages'
// third-party dependencies, so it is not part of `pnpm test`.
import { type SpawnOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = path.resolve(here, '../..');
const fixtures = path.join(here, 'fixtures');
const bin = (name: string) => path.join(root, 'node_modules/.bin', name);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a user's shell: without the `npm_config_*` settings that
 * pnpm hands to the scripts it runs (npm warns about each one it does not know).
 */
function userEnvironment(): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { NO_COLOR: '1', ONNXRUNTIME_NODE_INSTALL: 'skip' };
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith('npm_config_')) environment[key] ??= value;
  }
  return environment;
}

function run(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...options,
      env: { ...userEnvironment(), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function runOk(command: string, args: readonly string[], options: SpawnOptions = {}) {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

interface PublishedPackage {
  name: string;
  directory: string;
  /** Public entry points: `@cohort/x` and its subpaths (without `./package.json`). */
  entries: string[];
  tarball: string;
}

/** Every workspace member that is not private: what `changeset publish` would publish. */
async function publishedPackages(): Promise<Omit<PublishedPackage, 'tarball'>[]> {
  const found: Omit<PublishedPackage, 'tarball'>[] = [];
  for (const group of ['packages', 'apps']) {
    for (const name of (await readdir(path.join(root, group))).sort()) {
      const directory = path.join(root, group, name);
      const manifestPath = path.join(directory, 'package.json');
      if (!existsSync(manifestPath)) continue;
      const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
      if (manifest.private) continue;
      const entries = Object.keys(manifest.exports ?? { '.': null })
        .filter((subpath) => subpath !== './package.json')
        .map((subpath) =>
          subpath === '.' ? manifest.name : `${manifest.name}${subpath.slice(1)}`,
        );
      found.push({ name: manifest.name, directory, entries });
    }
  }
  return found;
}

/**
 * A two-step training config over the user's environment and reward modules
 * (the default run's without them), with `lines` added at the top level.
 */
function trainConfig(options: {
  name: string;
  environment?: string;
  reward?: string;
  lines?: string[];
}): string {
  return [
    `name: ${options.name}`,
    ...(options.environment === undefined
      ? []
      : [`environment: { type: module, module: ${JSON.stringify(options.environment)} }`]),
    ...(options.reward === undefined
      ? []
      : ['rewards:', `  - { type: module, weight: 1, module: ${JSON.stringify(options.reward)} }`]),
    ...(options.lines ?? []),
    'trainer:',
    '  steps: 2',
    '  scenariosPerStep: 2',
    '  groupSize: 2',
    '  minibatchSize: 4',
    '  generation: { maxNewTokens: 8 }',
    '  evolution: { everyEpisodes: 0 }',
    '',
  ].join('\n');
}

let scratch: string;
let project: string;
let elsewhere: string;
let packages: PublishedPackage[];

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-packaging-'));
  project = path.join(scratch, 'consumer');
  elsewhere = path.join(scratch, 'elsewhere');
  const tarballs = path.join(scratch, 'tarballs');
  await Promise.all([mkdir(project), mkdir(elsewhere), mkdir(tarballs)]);
  await runOk('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], {
    cwd: root,
  });
  packages = [];
  for (const found of await publishedPackages()) {
    const before = new Set(await readdir(tarballs));
    await runOk('pnpm', ['pack', '--pack-destination', tarballs], { cwd: found.directory });
    const made = (await readdir(tarballs)).filter((file) => !before.has(file));
    expect(made, `pnpm pack of ${found.name}`).toHaveLength(1);
    packages.push({ ...found, tarball: path.join(tarballs, made[0] as string) });
  }
  await writeFile(
    path.join(project, 'package.json'),
    `${JSON.stringify({ name: 'cohort-consumer', private: true, type: 'module' }, null, 2)}\n`,
  );
  // npm, not pnpm: what most users run. Third-party dependencies come from
  // the registry (or npm's cache); the @cohort packages only from the tarballs.
  await runOk(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      ...packages.map((found) => found.tarball),
    ],
    { cwd: project },
  );
  for (const file of ['brevity-reward.js', 'brevity-reward.ts', 'browser-entry.js'])
    await copyFile(path.join(fixtures, file), path.join(project, file));
  for (const file of ['guess-environment.ts', 'guess-environment.mjs'])
    await copyFile(path.join(fixtures, file), path.join(elsewhere, file));
}, 900_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the packed packages', () => {
  it('pass publint and arethetypeswrong (node16 and bundler resolution, ESM only)', async () => {
    expect(packages.map((found) => found.name)).toEqual(
      expect.arrayContaining([
        '@cohort/core',
        '@cohort/advantages',
        '@cohort/value',
        '@cohort/kl',
        '@cohort/objectives',
        '@cohort/evolution',
        '@cohort/environments',
        '@cohort/tfjs',
        '@cohort/trainer',
        '@cohort/transformers',
        '@cohort/agent-trainer',
      ]),
    );
    for (const found of packages) {
      const lint = await run(bin('publint'), ['run', found.tarball, '--strict'], { cwd: scratch });
      expect(lint.code, `publint ${found.name}\n${lint.stdout}${lint.stderr}`).toBe(0);
      expect(lint.stdout).toContain('All good!');
      const types = await run(
        bin('attw'),
        [found.tarball, '--profile', 'esm-only', '--format', 'json'],
        { cwd: scratch },
      );
      expect(types.code, `attw ${found.name}\n${types.stdout}${types.stderr}`).toBe(0);
    }
  });

  it('import with plain node: every public entry and subpath, with working code', async () => {
    const entries = packages.flatMap((found) => found.entries);
    expect(entries).toEqual(expect.arrayContaining(['@cohort/tfjs/node', '@cohort/core/test']));
    const script = [
      `const entries = ${JSON.stringify(entries)};`,
      'const counts = {};',
      'for (const entry of entries) counts[entry] = Object.keys(await import(entry)).length;',
      "const { groupRelativeAdvantages } = await import('@cohort/advantages');",
      "const { Random } = await import('@cohort/core');",
      'console.log(JSON.stringify({ counts, grpo: groupRelativeAdvantages({ rewards: [1, 0, 0, 0, 1, 1, 0, 1], groupSize: 4, epsilon: 0 }).advantages, random: new Random(7).int(0, 10) }));',
    ].join('\n');
    await writeFile(path.join(project, 'imports.mjs'), script);
    const result = await runOk(process.execPath, ['imports.mjs'], { cwd: project });
    expect(result.stderr).toBe('');
    const output = JSON.parse(result.stdout);
    for (const entry of entries) expect(output.counts[entry], entry).toBeGreaterThan(0);
    // Sample std of [1, 0, 0, 0] is 0.5 around 0.25; of [1, 1, 0, 1] 0.5 around 0.75 (epsilon 0).
    expect(output.grpo).toEqual([1.5, -0.5, -0.5, -0.5, 0.5, 0.5, -1.5, 0.5]);
    expect(Number.isInteger(output.random)).toBe(true);
  });

  it('@cohort/transformers/onnx loads no transformers.js: its static imports never reach it', async () => {
    const dist = path.join(project, 'node_modules/@cohort/transformers/dist');
    const bare = new Set<string>();
    const seen = new Set<string>();
    const visit = async (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = await readFile(path.join(dist, file), 'utf8');
      // Static imports and re-exports only: a dynamic import() loads nothing until called.
      const statics = /^(?:import|export)\b[^;]*?from\s*"([^"]+)"|^import\s*"([^"]+)"/gm;
      for (const match of code.matchAll(statics)) {
        const specifier = (match[1] ?? match[2]) as string;
        if (specifier.startsWith('./')) await visit(specifier.slice(2));
        else bare.add(specifier);
      }
    };
    await visit('onnx.js');
    expect([...bare]).toContain('onnxruntime-node');
    expect([...bare].filter((specifier) => specifier.startsWith('@huggingface/'))).toEqual([]);
    // The index does load it, so the walk can see it.
    seen.clear();
    bare.clear();
    await visit('index.js');
    expect([...bare]).toContain('@huggingface/transformers');
  });

  it("run each package README's first example as written, from the installed tarballs", async () => {
    const failures: string[] = [];
    for (const found of packages) {
      const readme = await readFile(path.join(found.directory, 'README.md'), 'utf8');
      const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(example, `a \`\`\`ts example in the README of ${found.name}`).toBeDefined();
      const file = `readme-${found.name.replace('@cohort/', '')}.ts`;
      await writeFile(path.join(project, file), example as string);
      const result = await run(path.join(project, 'node_modules/.bin/tsx'), [file], {
        cwd: project,
      });
      if (result.code !== 0) failures.push(`${found.name}: exit ${result.code}\n${result.stderr}`);
    }
    expect(failures).toEqual([]);
  });

  it('run agent-trainer from the PATH: --help with npx, from another folder', async () => {
    const help = await runOk('npx', ['--no-install', 'agent-trainer', '--help'], { cwd: project });
    expect(help.stdout).toContain('agent-trainer train');
    expect(help.stderr).toBe('');
    const direct = await runOk(path.join(project, 'node_modules/.bin/agent-trainer'), ['--help'], {
      cwd: elsewhere,
    });
    expect(direct.stdout).toBe(help.stdout);
  });

  it('train two steps with a TypeScript environment from outside the project and a JavaScript reward', async () => {
    await writeFile(
      path.join(project, 'guess.yaml'),
      trainConfig({
        name: 'guess',
        environment: path.join(elsewhere, 'guess-environment.ts'),
        reward: './brevity-reward.js',
      }),
    );
    const result = await run(
      'npx',
      [
        '--no-install',
        'agent-trainer',
        'train',
        '--config',
        'guess.yaml',
        '--runs-root',
        'runs',
        '--json',
      ],
      { cwd: project },
    );
    expect(result.code, result.stderr).toBe(0);
    // Quiet: with --json, stderr carries only errors and warnings.
    expect(result.stderr).toBe('');
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const steps = lines.filter((line) => line.type === 'step');
    expect(steps.map((line) => line.step)).toEqual([1, 2]);
    for (const step of steps) {
      expect(Object.keys(step.rewardMeanByFunction)).toEqual(['brevity']);
      expect(step.rewardMeanByFunction.brevity).toBeGreaterThanOrEqual(0);
      expect(step.rewardMeanByFunction.brevity).toBeLessThanOrEqual(1);
    }
    const summary = lines.at(-1);
    expect(summary).toMatchObject({ type: 'summary', status: 'completed', stepsCompleted: 2 });
    // --runs-root is relative to the folder the command runs in.
    expect(path.dirname(path.resolve(project, summary.runDirectory))).toBe(
      path.join(project, 'runs'),
    );
  });

  it('train with a JavaScript environment outside the project, a TypeScript reward, from another folder, --verbose', async () => {
    await writeFile(
      path.join(elsewhere, 'guess.yaml'),
      trainConfig({
        name: 'guess-js',
        environment: './guess-environment.mjs',
        reward: path.join(project, 'brevity-reward.ts'),
      }),
    );
    const result = await run(
      path.join(project, 'node_modules/.bin/agent-trainer'),
      ['train', '--config', 'guess.yaml', '--runs-root', 'runs', '--verbose'],
      { cwd: elsewhere },
    );
    expect(result.code, result.stderr).toBe(0);
    // --verbose adds the backend line; tfjs's own banner never shows.
    expect(result.stderr).toMatch(/\[@cohort\/tfjs\] backend (wasm|tensorflow|cpu): /);
    expect(result.stderr).not.toMatch(/looks like you are running TensorFlow\.js/);
    expect(result.stderr).toMatch(/step 2\/2 reward/);
    expect(existsSync(path.join(elsewhere, 'runs'))).toBe(true);
  });

  it('train with two learner worker threads and two rollout worker processes, all started from the installed build', async () => {
    await writeFile(
      path.join(project, 'workers.yaml'),
      trainConfig({ name: 'workers', lines: ['engine: { learnerWorkers: 2 }'] }),
    );
    const result = await run(
      path.join(project, 'node_modules/.bin/agent-trainer'),
      [
        'train',
        '--config',
        'workers.yaml',
        '--steps',
        '1',
        '--runs-root',
        'runs',
        '--workers',
        '2',
      ],
      { cwd: project },
    );
    expect(result.code, result.stderr).toBe(0);
    // The learner's worker threads load @cohort/tfjs's and @cohort/trainer's built
    // worker and loss modules (a missing one fails the run); the rollout workers
    // are this bin again, as processes (in-process without nats-server, with a warning).
    const output = `${result.stdout}\n${result.stderr}`;
    const workers = /2 worker processes/.test(output);
    const inProcess = /nats-server is not installed/.test(output);
    expect(workers || inProcess, output).toBe(true);
    expect(output).toMatch(/step 1\/1 reward/);
    expect(output).toMatch(/done: 1\/1 steps/);
  });

  it('train on a pool of two ONNX learner workers, started from the installed build', async () => {
    await writeFile(
      path.join(project, 'onnx-pool.yaml'),
      trainConfig({ name: 'onnx-pool', lines: ['engine: { learner: onnx, learnerWorkers: 2 }'] }),
    );
    const result = await run(
      path.join(project, 'node_modules/.bin/agent-trainer'),
      ['train', '--config', 'onnx-pool.yaml', '--steps', '1', '--run-dir', 'runs/onnx-pool'],
      { cwd: project },
    );
    // The pool's workers load @cohort/transformers' built onnx-learner-worker.js (a missing one fails the run).
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/engines: sampler onnx, reference onnx, learner onnx/);
    expect(result.stderr).toMatch(/done: 1\/1 steps/);
  });

  const chromiumPath = '/usr/bin/chromium';
  const hasChromium = existsSync(chromiumPath);
  if (!hasChromium) {
    console.warn(
      `packages.test.ts: the browser check is SKIPPED, ${chromiumPath} is missing (apt-get install -y chromium)`,
    );
  }

  it.skipIf(!hasChromium)(
    'bundle for the browser with esbuild (no node:* anywhere) and run in headless Chromium',
    async () => {
      const outfile = path.join(project, 'browser', 'bundle.js');
      const bundled = await build({
        entryPoints: [path.join(project, 'browser-entry.js')],
        absWorkingDir: project,
        bundle: true,
        platform: 'browser',
        // A classic script: Chromium refuses module scripts from file:// pages.
        format: 'iife',
        outfile,
        metafile: true,
        logLevel: 'silent',
      });
      expect(bundled.errors).toEqual([]);
      const inputs = Object.keys(bundled.metafile.inputs);
      expect(inputs.some((input) => input.includes('@cohort/tfjs/dist/'))).toBe(true);
      expect(inputs.filter((input) => input.startsWith('node:'))).toEqual([]);
      await writeFile(
        path.join(project, 'browser', 'index.html'),
        '<!doctype html><meta charset="utf-8"><script src="./bundle.js"></script>\n',
      );
      const context = await chromium.launchPersistentContext(path.join(scratch, 'profile'), {
        executablePath: chromiumPath,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
        ],
      });
      try {
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
        });
        page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
        await page.goto(pathToFileURL(path.join(project, 'browser', 'index.html')).href);
        await page.waitForFunction(() => 'cohortResult' in globalThis, undefined, {
          timeout: 60_000,
        });
        const result = await page.evaluate(
          () => (globalThis as unknown as { cohortResult: Promise<unknown> }).cohortResult,
        );
        expect(problems).toEqual([]);
        const node = await runOk(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            "import { Random } from '@cohort/core'; console.log(new Random(7).int(0, 10));",
          ],
          { cwd: project },
        );
        expect(result).toMatchObject({
          backend: 'cpu',
          product: [3, 7],
          grpo: [1.5, -0.5, -0.5, -0.5, 0.5, 0.5, -1.5, 0.5],
          random: Number(node.stdout.trim()),
        });
        const typed = result as { returns: number[]; exactKl: number; exportCounts: object };
        // G = r + 0.9 G': [0.81, 0.9, 1]; KL([1/2, 1/2] || [3/4, 1/4]) = 0.5 ln(2/3) + 0.5 ln 2.
        expect(typed.returns.map((x) => Number(x.toFixed(12)))).toEqual([0.81, 0.9, 1]);
        expect(typed.exactKl).toBeCloseTo(0.5 * Math.log(2 / 3) + 0.5 * Math.log(2), 12);
        for (const [name, count] of Object.entries(typed.exportCounts))
          expect(count, name).toBeGreaterThan(0);
      } finally {
        await context.close();
      }
    },
  );
});
