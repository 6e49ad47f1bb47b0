/**
 * The whole default run (`agent-trainer train`, the embedded model, 100 steps
 * unless `--steps`) of this tree against the commit before round 3's
 * hybrid-engine merge: wall time, peak RSS (`/usr/bin/time -v`, the whole
 * process tree's largest resident set) and the run's held-out figures. The two
 * runs go side by side (`--together`, the default: the same load on both) or
 * one after the other, alternating for `--rounds`.
 *
 * Results: bench/results/default-run.json.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/default-run.ts [--base <commit>] [--steps 100] [--rounds 1] [--sequential]
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareBaseTree, resolveCommit } from './base-tree';
import { timedNodeRun } from './timed-run';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const baseCommit = resolveCommit(root, argument('--base', '2b5a310^1'));
const steps = Number(argument('--steps', '100'));
const rounds = Number(argument('--rounds', '1'));
const sequential = process.argv.includes('--sequential');

interface RunResult {
  label: string;
  wallSeconds: number;
  maxRssMegabytes: number;
  loadAverage: number;
  exitCode: number | null;
  summary: string;
}

async function run(label: string, tree: string): Promise<RunResult> {
  const runDirectory = `/tmp/cohort-default-run-${process.pid}-${label.replace(/\W+/g, '-')}`;
  rmSync(runDirectory, { recursive: true, force: true });
  const timed = await timedNodeRun(
    [
      '--conditions=@cohort/source',
      '--import',
      'tsx',
      'apps/agent-trainer/src/bin.ts',
      'train',
      '--steps',
      String(steps),
      '--run-dir',
      runDirectory,
    ],
    tree,
  );
  let summary = timed.stdout.split('\n').slice(-12).join('\n');
  try {
    summary = readFileSync(path.join(runDirectory, 'summary.json'), 'utf8');
  } catch {}
  rmSync(runDirectory, { recursive: true, force: true });
  return {
    label,
    wallSeconds: timed.wallSeconds,
    maxRssMegabytes: timed.maxRssMegabytes,
    loadAverage: timed.loadAverage,
    exitCode: timed.exitCode,
    summary,
  };
}

const baseRoot = prepareBaseTree(root, baseCommit);
const results: RunResult[] = [];
for (let round = 0; round < rounds; round++) {
  const pair: [string, string][] =
    round % 2 === 0
      ? [
          ['base', baseRoot],
          ['this tree', root],
        ]
      : [
          ['this tree', root],
          ['base', baseRoot],
        ];
  if (sequential) {
    for (const [label, tree] of pair) results.push(await run(label, tree));
  } else {
    results.push(...(await Promise.all(pair.map(([label, tree]) => run(label, tree)))));
  }
}
for (const result of results) {
  console.log(
    `${result.label.padEnd(10)} ${steps} steps in ${result.wallSeconds.toFixed(0)} s, peak RSS ${result.maxRssMegabytes.toFixed(0)} MB, load ${result.loadAverage.toFixed(1)}, exit ${result.exitCode}`,
  );
}
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(
  path.join(root, 'bench/results/default-run.json'),
  `${JSON.stringify({ base: baseCommit, steps, rounds, sequential, results }, null, 2)}\n`,
);
rmSync(baseRoot, { recursive: true, force: true });
