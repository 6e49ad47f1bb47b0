/**
 * One GRPO step of the default app run (`agent-trainer train` with no
 * arguments: the embedded 0.56M GPT, 2 scenarios x 4, 40 new tokens, KL to the
 * reference) on each engine, alternating in one run, against the commit before
 * round 3's hybrid-engine merge. Each side is a long-lived child process
 * (bench/grpo-step-child.ts) that builds its trainer once; the parent asks the
 * sides for one step in turn, round after round, so the machine's load falls
 * on all sides alike, and reports medians and ratios to the base.
 *
 * The base is `git archive <base>` of the whole tree under /tmp
 * (bench/base-tree.ts), so it runs its own sources of every package.
 *
 * `--sides engines` (the default) compares the sampler, reference and worker
 * settings: bench/results/grpo-step-engines.json. `--sides learner` compares
 * the base, this tree's default run with `engine: { learner: tfjs }`, the
 * default run of `--before` (round 8's tree, whose default already learned on
 * ONNX Runtime) and this tree's default run (the GPT-2 learning graph on ONNX
 * Runtime): bench/results/grpo-step-learner.json. `--sides commits --commits
 * a,b,...` runs the default run of each listed commit (a bisection of a
 * regression), with `--config JSON` merged over the default run's config:
 * bench/results/grpo-step-commits.json. Each side reports its
 * median step, rollout, reference and update seconds, and its peak RSS (each
 * side is its own process).
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/grpo-step-engines.ts [--sides engines|learner|commits] [--base <commit>] [--before <commit>] [--commits a,b,... [--config JSON]] [--rounds 6 | --quick] [--processes 1]
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { prepareBaseTree, resolveCommit } from './base-tree';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const root = fileURLToPath(new URL('..', import.meta.url));
// The commit before round 3's hybrid-engine merge (2b5a310): every package on tfjs.
const base = argument('--base', '2b5a310^1');
const rounds = Number(argument('--rounds', process.argv.includes('--quick') ? '3' : '6'));
const processes = Number(argument('--processes', '1'));
// With --sides commits: the config (JSON, merged over the default run's) every side runs.
const sideConfig = argument('--config', '{}');
if (!Number.isInteger(processes) || processes < 1)
  throw new Error(`--processes must be an integer >= 1, got ${processes}`);
const warmup = 1;
const baseCommit = resolveCommit(root, base);
// Round 8's merged tree: the ONNX learner as default, before one-forward learning and the sampler's cuts.
const beforeCommit = resolveCommit(root, argument('--before', '1d73b56'));
const sideSet = argument('--sides', 'engines');
if (sideSet !== 'engines' && sideSet !== 'learner' && sideSet !== 'commits')
  throw new Error(`--sides must be 'engines', 'learner' or 'commits', got ${sideSet}`);
const listedCommits =
  sideSet === 'commits'
    ? argument('--commits', '')
        .split(',')
        .filter((commit) => commit !== '')
        .map((commit) => resolveCommit(root, commit))
    : [];
if (sideSet === 'commits' && listedCommits.length === 0)
  throw new Error('--sides commits needs --commits a,b,... (one or more commits)');

interface StepReply {
  seconds: number;
  rewardMean: number;
  sampledTokens: number;
  timings: { rollout: number; scoring: number; reference: number; update: number };
  logProbMismatchMax: number | null;
  logProbMismatchMean: number | null;
  maxRssMegabytes: number;
}

interface Side {
  label: string;
  child: ChildProcessWithoutNullStreams;
  replies: AsyncIterator<string>;
  steps: StepReply[];
  loads: number[];
}

async function nextJson(side: Side): Promise<Record<string, unknown>> {
  for (;;) {
    const { value, done } = await side.replies.next();
    if (done) throw new Error(`${side.label} exited`);
    if (value.startsWith('{')) return JSON.parse(value) as Record<string, unknown>;
  }
}

async function start(label: string, tree: string, config: unknown): Promise<Side> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@cohort/source',
      '--import',
      'tsx',
      'bench/grpo-step-child.ts',
      JSON.stringify(config),
    ],
    { cwd: tree, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`[${label}] ${chunk}`));
  const side: Side = {
    label,
    child,
    replies: createInterface({ input: child.stdout })[Symbol.asyncIterator](),
    steps: [],
    loads: [],
  };
  await nextJson(side);
  return side;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const baseRoot =
  sideSet === 'commits'
    ? undefined
    : prepareBaseTree(root, baseCommit, ['bench/grpo-step-child.ts']);
const beforeRoot =
  sideSet === 'learner'
    ? prepareBaseTree(root, beforeCommit, ['bench/grpo-step-child.ts'])
    : undefined;
const commitRoots = listedCommits.map((commit) =>
  prepareBaseTree(root, commit, ['bench/grpo-step-child.ts']),
);
const loadAtStart = loadavg();
const startSides = async (): Promise<Side[]> =>
  sideSet === 'commits'
    ? await Promise.all(
        listedCommits.map((commit, index) =>
          start(
            `${sideConfig === '{}' ? 'default run' : 'run'} at ${commit.slice(0, 7)}`,
            commitRoots[index] as string,
            JSON.parse(sideConfig),
          ),
        ),
      )
    : sideSet === 'learner'
      ? [
          await start('base (tfjs sampler + reference)', baseRoot as string, {}),
          await start('default, tfjs learner', root, { engine: { learner: 'tfjs' } }),
          await start('round 8 default (onnx)', beforeRoot as string, {}),
          await start('default now (onnx learner)', root, {}),
        ]
      : [
          await start('base (tfjs sampler + reference)', baseRoot as string, {}),
          await start('onnx sampler, tfjs reference', root, {
            engine: { sampler: 'onnx', reference: 'tfjs' },
          }),
          await start('onnx sampler + reference', root, {
            engine: { sampler: 'onnx', reference: 'onnx' },
          }),
          await start('onnx + 2 learner workers', root, {
            engine: { sampler: 'onnx', reference: 'onnx', learnerWorkers: 2 },
          }),
        ];
// Two processes of the same code differed by up to 2x in rollout time: each side runs in
// `--processes` processes, in turn, and its medians pool their steps.
const sides: Side[] = [];
for (let copy = 0; copy < processes; copy++) sides.push(...(await startSides()));
for (let round = 0; round < warmup + rounds; round++) {
  for (const side of sides) {
    side.child.stdin.write('step\n');
    const reply = (await nextJson(side)) as unknown as StepReply;
    if (round >= warmup) {
      side.steps.push(reply);
      side.loads.push(loadavg()[0]!);
    }
  }
}
for (const side of sides) side.child.stdin.end();

const labels = [...new Set(sides.map((side) => side.label))];
const pooled = labels.map((label) => {
  const copies = sides.filter((side) => side.label === label);
  return {
    label,
    steps: copies.flatMap((side) => side.steps),
    loads: copies.flatMap((side) => side.loads),
    processMedianStepSeconds: copies.map((side) => median(side.steps.map((step) => step.seconds))),
  };
});
const summary = pooled.map((side) => ({
  label: side.label,
  processMedianStepSeconds: side.processMedianStepSeconds,
  medianStepSeconds: median(side.steps.map((step) => step.seconds)),
  medianRolloutSeconds: median(side.steps.map((step) => step.timings.rollout)),
  medianUpdateSeconds: median(side.steps.map((step) => step.timings.update)),
  medianReferenceSeconds: median(side.steps.map((step) => step.timings.reference)),
  sampledTokensPerSecond: median(
    side.steps.map((step) => step.sampledTokens / step.timings.rollout),
  ),
  logProbMismatchMax: Math.max(0, ...side.steps.map((step) => step.logProbMismatchMax ?? 0)),
  maxRssMegabytes: Math.max(...side.steps.map((step) => step.maxRssMegabytes)),
  meanLoadAverage: side.loads.reduce((sum, value) => sum + value, 0) / side.loads.length,
  steps: side.steps,
}));
const baseline = summary[0]!.medianStepSeconds;
const result = {
  ...(sideSet === 'commits' ? {} : { base: baseCommit }),
  ...(sideSet === 'learner' ? { before: beforeCommit } : {}),
  ...(sideSet === 'commits' ? { commits: listedCommits } : {}),
  head: resolveCommit(root, 'HEAD'),
  rounds,
  processes,
  loadAverageAtStart: loadAtStart,
  loadAverageAtEnd: loadavg(),
  sides: summary.map((side) => ({ ...side, speedupOverBase: baseline / side.medianStepSeconds })),
};
for (const side of result.sides) {
  console.log(
    `${side.label.padEnd(32)} peak RSS ${side.maxRssMegabytes.toFixed(0)} MB  step ${side.medianStepSeconds.toFixed(2)} s (rollout ${side.medianRolloutSeconds.toFixed(2)}, reference ${side.medianReferenceSeconds.toFixed(2)}, update ${side.medianUpdateSeconds.toFixed(2)})  ${side.speedupOverBase.toFixed(2)}x base  sampled ${side.sampledTokensPerSecond.toFixed(0)} tok/s  mismatch max ${side.logProbMismatchMax.toExponential(1)}  load ${side.meanLoadAverage.toFixed(1)}  per process ${side.processMedianStepSeconds.map((seconds) => seconds.toFixed(2)).join(', ')} s`,
  );
}
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(
  path.join(root, `bench/results/grpo-step-${sideSet === 'engines' ? 'engines' : sideSet}.json`),
  `${JSON.stringify(result, null, 2)}\n`,
);
if (baseRoot !== undefined) rmSync(baseRoot, { recursive: true, force: true });
if (beforeRoot !== undefined) rmSync(beforeRoot, { recursive: true, force: true });
for (const commitRoot of commitRoots) rmSync(commitRoot, { recursive: true, force: true });
