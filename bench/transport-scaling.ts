/**
 * Rollouts over NATS JetStream: (1) the transport's overhead per trajectory
 * group against the in-process transport, alternating, and (2) throughput of
 * a synthetic environment that sleeps (standing for slow tools and user
 * simulators) with 1, 2, 4 and 8 worker processes, the learner one step ahead
 * (asynchronous mode, policy lag 1) and busy for a fixed time per step
 * standing for the update. Needs `nats-server` on the PATH.
 * Run: pnpm exec tsx --conditions=@cohort/source bench/transport-scaling.ts
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createInProcessTransport,
  type RolloutTransport,
  runRolloutWorker,
} from '../packages/transport/src/index';
import { createNatsTaskSource, createNatsTransport } from '../packages/transport/src/nats';
import { startNatsServer } from '../packages/transport/src/nats-server';
import {
  tasksFor,
  trajectoryGroupFor,
} from '../packages/transport/src/test-support/trajectory-group';

const server = await startNatsServer();
const policy = { version: 0, kind: 'full', bytes: new Uint8Array(2_300_000) };

async function roundTrips(
  transport: RolloutTransport,
  step: number,
  count: number,
): Promise<number> {
  const tasks = tasksFor(step, count, 0);
  const start = performance.now();
  await transport.submit(tasks);
  const report = await transport.collect({
    tasks,
    currentVersion: 0,
    maxPolicyLag: 0,
    timeoutMs: 60_000,
  });
  if (report.results.length !== count)
    throw new Error(`lost results: ${JSON.stringify(report.timedOut)}`);
  return (performance.now() - start) / count;
}

// (1) Overhead per task (a group of 8 trajectories), handler doing no work.
const inProcess = createInProcessTransport();
const nats = await createNatsTransport({ servers: server.url, runId: 'overhead' });
const natsSource = await createNatsTaskSource({ servers: server.url, runId: 'overhead' });
const controller = new AbortController();
const handler = async ({ task }: { task: Parameters<typeof trajectoryGroupFor>[0] }) =>
  trajectoryGroupFor({ ...task, groupSize: 8 });
for (const transport of [inProcess, nats]) await transport.publishPolicy(policy);
const workers = [
  runRolloutWorker({
    source: inProcess.source(),
    workerId: 'local',
    handler,
    signal: controller.signal,
    pollMs: 50,
  }),
  runRolloutWorker({
    source: natsSource,
    workerId: 'nats',
    handler,
    signal: controller.signal,
    pollMs: 1000,
  }),
];
const overhead = { inProcessMs: [] as number[], natsMs: [] as number[] };
for (let round = 0; round < 6; round++) {
  overhead.inProcessMs.push(await roundTrips(inProcess, round, 32));
  overhead.natsMs.push(await roundTrips(nats, round, 32));
}
controller.abort();
await Promise.all(workers);
await natsSource.close();
await nats.close();
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(
  `overhead per task (group of 8): in-process ${median(overhead.inProcessMs).toFixed(3)} ms, NATS ${median(overhead.natsMs).toFixed(3)} ms`,
);

// (2) Scaling with worker processes over a sleeping environment.
const workerScript = fileURLToPath(
  new URL('../packages/transport/src/test-support/worker-process.ts', import.meta.url),
);
const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));
const episodeMs = 400;
const tasksPerStep = 16;
const learnerMs = 1000;
const steps = 4;
const scaling: { workers: number; stepsPerMinute: number; tasksPerSecond: number }[] = [];
for (const workerCount of [1, 2, 4, 8]) {
  const runId = `scaling${workerCount}`;
  const transport = await createNatsTransport({ servers: server.url, runId });
  await transport.publishPolicy(policy);
  const children = Array.from({ length: workerCount }, (_, index) =>
    spawn(
      process.execPath,
      [
        '--conditions=@cohort/source',
        '--import',
        'tsx',
        workerScript,
        server.url,
        runId,
        `w${index}`,
      ],
      {
        cwd: repositoryRoot,
        stdio: 'ignore',
      },
    ),
  );
  const stepTasks = (step: number) =>
    tasksFor(step, tasksPerStep, 0, () => ({ sleepMs: episodeMs }));
  await transport.submit(stepTasks(0));
  await transport.collect({
    tasks: stepTasks(0),
    currentVersion: 0,
    maxPolicyLag: 0,
    timeoutMs: 120_000,
  }); // warm-up: workers up
  const start = performance.now();
  await transport.submit(stepTasks(1));
  for (let step = 1; step <= steps; step++) {
    const report = await transport.collect({
      tasks: stepTasks(step),
      currentVersion: step,
      maxPolicyLag: 1,
      timeoutMs: 120_000,
    });
    if (report.results.length + report.stale.length !== tasksPerStep) throw new Error('lost tasks');
    if (step < steps) await transport.submit(stepTasks(step + 1)); // one step ahead while the learner works
    const busyUntil = performance.now() + learnerMs;
    while (performance.now() < busyUntil) {
      // the learner's update, standing in
    }
  }
  const seconds = (performance.now() - start) / 1000;
  scaling.push({
    workers: workerCount,
    stepsPerMinute: (steps / seconds) * 60,
    tasksPerSecond: (steps * tasksPerStep) / seconds,
  });
  console.log(
    `${workerCount} worker process(es): ${((steps / seconds) * 60).toFixed(1)} steps/min, ${((steps * tasksPerStep) / seconds).toFixed(2)} tasks/s`,
  );
  for (const child of children) child.kill('SIGTERM');
  await transport.close();
}
await server.stop();

const result = {
  date: new Date().toISOString(),
  note: 'Overhead: median over 6 alternating rounds of 32 tasks, handler returning a group of 8 small trajectories. Scaling: each task sleeps episodeMs (a slow tool), learner busy learnerMs per step, one step ahead.',
  overheadPerTaskMs: { inProcess: median(overhead.inProcessMs), nats: median(overhead.natsMs) },
  scaling: { episodeMs, tasksPerStep, learnerMs, steps, rows: scaling },
  bound: {
    learnerOnlyStepsPerMinute: 60_000 / learnerMs,
    oneWorkerStepsPerMinute: 60_000 / (tasksPerStep * episodeMs),
  },
};
writeFileSync(
  new URL('./results/transport-scaling.json', import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
