/**
 * How the default run is launched against what it costs: the whole default
 * run (`agent-trainer train`, the default config, 100 steps unless `--steps`)
 * from the TypeScript sources under tsx (`source`, how `pnpm start` ran until
 * round 6), from the JavaScript build in plain Node (`built`, how `pnpm start`
 * runs now), and from the build with `engine.learnerShards` set to 1, 2 or 4
 * (`built-shards1`, `built-shards2`, `built-shards4`, whatever the default is).
 * Per run: wall time, peak RSS (`/usr/bin/time -v`, the largest resident set
 * of the process tree), the mean load while it ran, and the held-out figures
 * of its summary.json; then each mode's ratios to the first mode. Modes run
 * one after the other, their order rotated each round so that a load drift
 * falls on all of them, or side by side with `--together` (the same load on
 * all; the wall times then share the cores). The JavaScript build is made
 * first, as `pnpm start` makes it, and its time is reported.
 *
 * Results: bench/results/start-modes.json, or `--out <name>` for bench/results/<name>.json.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/start-modes.ts [--steps 100] [--rounds 1] [--modes source,built,built-shards2] [--together] [--out start-modes]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { timedNodeRun } from './timed-run';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const steps = Number(argument('--steps', '100'));
const rounds = Number(argument('--rounds', '1'));
const together = process.argv.includes('--together');
const out = argument('--out', 'start-modes');

/** The command line (after the node executable) of each launch mode, and its config overrides. */
const modeDefinitions = {
  source: {
    args: ['--conditions=@cohort/source', '--import', 'tsx', 'apps/agent-trainer/src/bin.ts'],
    config: undefined,
  },
  built: { args: ['apps/agent-trainer/dist/agent-trainer.js'], config: undefined },
  'built-shards1': {
    args: ['apps/agent-trainer/dist/agent-trainer.js'],
    config: 'engine:\n  learnerShards: 1\n',
  },
  'built-shards2': {
    args: ['apps/agent-trainer/dist/agent-trainer.js'],
    config: 'engine:\n  learnerShards: 2\n',
  },
  'built-shards4': {
    args: ['apps/agent-trainer/dist/agent-trainer.js'],
    config: 'engine:\n  learnerShards: 4\n',
  },
} as const;
type Mode = keyof typeof modeDefinitions;

const modes = argument('--modes', 'source,built,built-shards2').split(',') as Mode[];
for (const mode of modes) {
  if (!(mode in modeDefinitions))
    throw new Error(
      `--modes: unknown mode ${JSON.stringify(mode)}; known: ${Object.keys(modeDefinitions).join(', ')}`,
    );
}
if (!/^[\w.-]+$/.test(out))
  throw new Error(`--out must be a file name without a folder, got ${JSON.stringify(out)}`);
if (!Number.isInteger(steps) || steps < 1)
  throw new Error(`--steps must be a positive integer, got ${steps}`);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds must be a positive integer, got ${rounds}`);

interface Evaluation {
  rewardMean: number;
  successRate: number;
  episodes: number;
}

interface RunResult {
  mode: Mode;
  round: number;
  wallSeconds: number;
  maxRssMegabytes: number;
  loadAverage: number;
  exitCode: number | null;
  before?: Evaluation;
  after?: Evaluation;
  tail?: string;
}

async function run(mode: Mode, round: number): Promise<RunResult> {
  const scratch = `/tmp/cohort-start-modes-${process.pid}-${mode}-${round}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const definition = modeDefinitions[mode];
  const configArgs: string[] = [];
  if (definition.config !== undefined) {
    writeFileSync(path.join(scratch, 'config.yaml'), definition.config);
    configArgs.push('--config', path.join(scratch, 'config.yaml'));
  }
  const runDirectory = path.join(scratch, 'run');
  const timed = await timedNodeRun(
    [
      ...definition.args,
      'train',
      ...configArgs,
      '--steps',
      String(steps),
      '--run-dir',
      runDirectory,
    ],
    root,
  );
  const result: RunResult = {
    mode,
    round,
    wallSeconds: timed.wallSeconds,
    maxRssMegabytes: timed.maxRssMegabytes,
    loadAverage: timed.loadAverage,
    exitCode: timed.exitCode,
  };
  try {
    const summary = JSON.parse(readFileSync(path.join(runDirectory, 'summary.json'), 'utf8'));
    const pick = (evaluation: Evaluation): Evaluation => ({
      rewardMean: evaluation.rewardMean,
      successRate: evaluation.successRate,
      episodes: evaluation.episodes,
    });
    result.before = pick(summary.evaluationBefore);
    result.after = pick(summary.evaluationAfter);
  } catch {
    result.tail = `${timed.stdout}\n${timed.stderr}`.split('\n').slice(-20).join('\n');
  }
  rmSync(scratch, { recursive: true, force: true });
  return result;
}

const buildStarted = performance.now();
execFileSync(
  'pnpm',
  [
    'exec',
    'turbo',
    'run',
    'build',
    '--filter=@cohort/agent-trainer...',
    '--output-logs=errors-only',
  ],
  { cwd: root, env: { ...process.env, COHORT_BUILD_JS_ONLY: '1' }, stdio: 'inherit' },
);
const buildSeconds = (performance.now() - buildStarted) / 1000;
console.log(`JavaScript build (turbo, cached where unchanged): ${buildSeconds.toFixed(1)} s`);

const results: RunResult[] = [];
for (let round = 0; round < rounds; round++) {
  const order = modes.map((_, index) => modes[(index + round) % modes.length]!);
  if (together) {
    results.push(...(await Promise.all(order.map((mode) => run(mode, round)))));
  } else {
    for (const mode of order) results.push(await run(mode, round));
  }
}

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
const first = results.filter((result) => result.mode === modes[0]);
for (const result of results) {
  const figures = result.after
    ? `held-out reward ${result.before!.rewardMean.toFixed(3)} -> ${result.after.rewardMean.toFixed(3)}, success ${result.before!.successRate.toFixed(2)} -> ${result.after.successRate.toFixed(2)}`
    : `no summary:\n${result.tail}`;
  console.log(
    `round ${result.round} ${result.mode.padEnd(14)} ${steps} steps in ${result.wallSeconds.toFixed(0)} s, peak RSS ${result.maxRssMegabytes.toFixed(0)} MB, load ${result.loadAverage.toFixed(1)}, exit ${result.exitCode}; ${figures}`,
  );
}
const ratios = modes.map((mode) => {
  const these = results.filter((result) => result.mode === mode);
  return {
    mode,
    meanWallSeconds: mean(these.map((r) => r.wallSeconds)),
    meanPeakRssMegabytes: mean(these.map((r) => r.maxRssMegabytes)),
    wallRatio: mean(these.map((r) => r.wallSeconds)) / mean(first.map((r) => r.wallSeconds)),
    peakRssRatio:
      mean(these.map((r) => r.maxRssMegabytes)) / mean(first.map((r) => r.maxRssMegabytes)),
  };
});
for (const ratio of ratios) {
  console.log(
    `${ratio.mode.padEnd(14)} mean ${ratio.meanWallSeconds.toFixed(0)} s (${ratio.wallRatio.toFixed(2)}x ${modes[0]}), peak RSS ${ratio.meanPeakRssMegabytes.toFixed(0)} MB (${ratio.peakRssRatio.toFixed(2)}x ${modes[0]})`,
  );
}
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(
  path.join(root, `bench/results/${out}.json`),
  `${JSON.stringify({ steps, rounds, together, buildSeconds, modes, results, ratios }, null, 2)}\n`,
);
