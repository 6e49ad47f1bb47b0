/**
 * The training console's speed: (1) sustained metrics records per second that
 * the server streams from a growing metrics.jsonl to 1 and to 10 SSE clients
 * (alternating, 3 rounds each); (2) page load time in headless chromium for a
 * run of 1,000 and of 10,000 steps (alternating), until every chart is drawn;
 * (3) records per second the page itself absorbs while a writer appends.
 * Run: pnpm exec tsx --conditions=@cohort/source bench/console-stream.ts
 */

import { writeFileSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildWeb } from '../packages/console/src/build-web';
import { createConsoleServer } from '../packages/console/src/index';
import { launchBrowser } from '../packages/console/test/browser';
import { readEvents } from '../packages/console/test/sse-client';

function stepRecord(step: number): string {
  return JSON.stringify({
    kind: 'step',
    step,
    time: new Date(Date.UTC(2025, 0, 1) + step * 1000).toISOString(),
    rewardMean: Math.sin(step / 50),
    rewardStd: 0.2,
    klToReference: step * 1e-4,
    entropy: 2 - step * 1e-4,
    loss: Math.cos(step / 30),
    gradNorm: 1 + Math.sin(step),
    learningRate: 1e-4,
    rewardMeanByFunction: { goal: 0.5, format: 0.9 },
    timings: { rollout: 3, update: 1 },
  });
}

const root = await mkdtemp(path.join(tmpdir(), 'cohort-console-bench-'));
const web = path.join(root, 'web');
await buildWeb({ outDirectory: web });

async function makeRun(name: string, steps: number): Promise<string> {
  const directory = path.join(root, name);
  await mkdir(directory, { recursive: true });
  const lines = Array.from({ length: steps }, (_, index) => stepRecord(index + 1));
  await writeFile(
    path.join(directory, 'metrics.jsonl'),
    lines.length ? `${lines.join('\n')}\n` : '',
  );
  return directory;
}

/** Appends `total` records in batches as fast as the clients take them; returns records/s per client. */
async function streamRate(clients: number, total: number, round: number): Promise<number> {
  const directory = await makeRun(`stream-${clients}-${round}`, 0);
  const server = await createConsoleServer({
    runDirectories: [directory],
    webDirectory: web,
    pollMs: 50,
  });
  const id = server.runs[0]!.id;
  const counts = new Array<number>(clients).fill(0);
  const url = new URL(`api/runs/${id}/metrics/stream`, server.url).href;
  const closers = await Promise.all(
    counts.map((_, index) =>
      readEvents(url, (event) => {
        if (event.event === 'records')
          counts[index]! += (JSON.parse(event.data) as unknown[]).length;
      }),
    ),
  );
  const file = path.join(directory, 'metrics.jsonl');
  const started = performance.now();
  const batch = 500;
  for (let written = 0; written < total; written += batch) {
    const lines = Array.from({ length: batch }, (_, index) => stepRecord(written + index + 1));
    await appendFile(file, `${lines.join('\n')}\n`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  while (counts.some((count) => count < total))
    await new Promise((resolve) => setTimeout(resolve, 2));
  const seconds = (performance.now() - started) / 1000;
  for (const close of closers) close();
  await server.close();
  return total / seconds;
}

const results: Record<string, unknown> = { node: process.version };
const stream: Record<string, number[]> = { clients1: [], clients10: [] };
for (let round = 0; round < 3; round++) {
  stream.clients1!.push(await streamRate(1, 50_000, round));
  stream.clients10!.push(await streamRate(10, 50_000, round));
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
results.sseRecordsPerSecondPerClient = {
  clients1: median(stream.clients1!),
  clients10: median(stream.clients10!),
  ratio10to1: median(stream.clients10!) / median(stream.clients1!),
  rounds: stream,
};

const context = await launchBrowser();
const small = await makeRun('steps-1000', 1_000);
const large = await makeRun('steps-10000', 10_000);
const live = await makeRun('live', 1);
const server = await createConsoleServer({
  runDirectories: [small, large, live],
  webDirectory: web,
  pollMs: 100,
});
async function loadMs(runId: string, steps: number): Promise<number> {
  const page = await context.newPage();
  const started = performance.now();
  await page.goto(server.url);
  if (runId !== 'steps-1000') {
    await page.getByLabel('steps-1000', { exact: true }).uncheck();
    await page.getByLabel(runId, { exact: true }).check();
  }
  await page.waitForFunction(
    (expected) => {
      const charts = [...document.querySelectorAll('figure.chart')];
      return (
        charts.length === 11 &&
        charts.every((chart) => chart.getAttribute('data-points') === String(expected))
      );
    },
    steps,
    { timeout: 60_000 },
  );
  const elapsed = performance.now() - started;
  await page.close();
  return elapsed;
}
const loads: Record<string, number[]> = { steps1000: [], steps10000: [] };
for (let round = 0; round < 3; round++) {
  loads.steps1000!.push(await loadMs('steps-1000', 1_000));
  loads.steps10000!.push(await loadMs('steps-10000', 10_000));
}
results.pageLoadMs = {
  steps1000: median(loads.steps1000!),
  steps10000: median(loads.steps10000!),
  ratio: median(loads.steps10000!) / median(loads.steps1000!),
  rounds: loads,
  note: 'from navigation until all 11 charts hold every point (the 10,000-step run is selected after the page loads)',
};

// The page under a live writer: 200 records every 100 ms (2,000/s) for 5 s.
const page = await context.newPage();
await page.goto(server.url);
await page.getByLabel('steps-1000', { exact: true }).uncheck();
await page.getByLabel('live', { exact: true }).check();
await page.waitForSelector('.last-step[data-last-step="1"]');
const liveFile = path.join(live, 'metrics.jsonl');
let written = 1;
const started = performance.now();
while (performance.now() - started < 5_000) {
  const lines = Array.from({ length: 200 }, (_, index) => stepRecord(written + index + 1));
  written += 200;
  await appendFile(liveFile, `${lines.join('\n')}\n`);
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const writeSeconds = (performance.now() - started) / 1000;
await page.waitForSelector(`.last-step[data-last-step="${written}"]`, { timeout: 60_000 });
const caughtUpSeconds = (performance.now() - started) / 1000;
results.pageUnderLiveWriter = {
  recordsWritten: written - 1,
  writerRecordsPerSecond: (written - 1) / writeSeconds,
  pageRecordsPerSecond: (written - 1) / caughtUpSeconds,
  lagAfterWriterStoppedSeconds: caughtUpSeconds - writeSeconds,
};
await page.close();
await context.close();
await server.close();

console.log(JSON.stringify(results, null, 2));
writeFileSync(
  new URL('results/console-stream.json', import.meta.url),
  `${JSON.stringify(results, null, 2)}\n`,
);
