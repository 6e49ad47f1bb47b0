/**
 * Steps per minute of the default run (`agent-trainer train`, the embedded
 * support agent) with its rollouts in the learner's process against learner
 * plus 1 and 2 local worker processes (`train --workers N`, over an
 * app-started nats-server, synchronous mode). The three settings alternate,
 * ROUNDS times, each a fresh run of STEPS steps; a step's time is its
 * `stepSeconds` in metrics.jsonl (evaluations and start-up excluded), the
 * first step of each run left out as warm-up. Needs `nats-server` on the PATH.
 * Results: bench/results/transport-training.json.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/transport-training.ts [STEPS] [ROUNDS]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const steps = Number(process.argv[2] ?? 4);
const rounds = Number(process.argv[3] ?? 2);
const root = fileURLToPath(new URL('..', import.meta.url));
const settings = [0, 1, 2];
const secondsBySetting = new Map<number, number[]>(settings.map((workers) => [workers, []]));

for (let round = 0; round < rounds; round++) {
  for (const workers of settings) {
    const runDirectory = join(mkdtempSync(join(tmpdir(), 'cohort-bench-')), `bench-w${workers}`);
    const result = spawnSync(
      process.execPath,
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
        '--json',
        ...(workers > 0 ? ['--workers', String(workers)] : []),
      ],
      { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (result.status !== 0)
      throw new Error(`train --workers ${workers} failed:\n${result.stderr}`);
    const stepSeconds = readFileSync(join(runDirectory, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"kind":"step"'))
      .map((line) => JSON.parse(line).stepSeconds as number);
    secondsBySetting.get(workers)!.push(...stepSeconds.slice(1));
    console.log(
      `round ${round} workers ${workers}: step seconds ${stepSeconds.map((value) => value.toFixed(2)).join(' ')}`,
    );
    rmSync(join(runDirectory, '..'), { recursive: true, force: true });
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const rows = settings.map((workers) => {
  const seconds = median(secondsBySetting.get(workers)!);
  return { workers, medianStepSeconds: seconds, stepsPerMinute: 60 / seconds };
});
const inProcess = rows[0]!.stepsPerMinute;
for (const row of rows) {
  console.log(
    `${row.workers === 0 ? 'in-process' : `learner + ${row.workers} worker process(es)`}: ${row.stepsPerMinute.toFixed(2)} steps/min (x${(row.stepsPerMinute / inProcess).toFixed(2)})`,
  );
}
writeFileSync(
  join(root, 'bench/results/transport-training.json'),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      note: `default run, ${steps} steps per run (first left out), ${rounds} alternating rounds; median stepSeconds from metrics.jsonl`,
      rows: rows.map((row) => ({ ...row, ratioToInProcess: row.stepsPerMinute / inProcess })),
    },
    null,
    2,
  )}\n`,
);
