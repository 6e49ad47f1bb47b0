import { Buffer } from 'node:buffer';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasNatsServer, type NatsServerProcess, startNatsServer } from './nats-server';
import { createNatsTaskSource } from './nats-task-source';
import { createNatsTransport } from './nats-transport';
import { runRolloutWorker } from './rollout-worker';
import { tasksFor, trajectoryGroupFor } from './test-support/trajectory-group';

// CI installs Debian's nats-server; elsewhere these tests say they are skipped.
if (process.env.CI && !hasNatsServer())
  throw new Error('nats-server is missing: .ci/run installs it from Debian');
const repositoryRoot = fileURLToPath(new URL('../../..', import.meta.url));
const workerScript = fileURLToPath(new URL('./test-support/worker-process.ts', import.meta.url));
const policy = (version: number) => ({
  version,
  kind: 'full',
  bytes: new Uint8Array(300_000).map((_, i) => (i * 7 + version) % 251),
});

/** A worker process; `events` fills with its JSON lines. */
function spawnWorker(url: string, runId: string, workerId: string) {
  const child = spawn(
    process.execPath,
    ['--conditions=@cohort/source', '--import', 'tsx', workerScript, url, runId, workerId],
    {
      cwd: repositoryRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const events: { event: string; taskId?: string; attempt?: number }[] = [];
  const listeners = new Set<() => void>();
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      events.push(JSON.parse(buffer.slice(0, newline)));
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
      for (const listener of listeners) listener();
    }
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const waitFor = (predicate: (event: (typeof events)[number]) => boolean, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (events.some(predicate)) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `worker ${workerId} timed out; events ${JSON.stringify(events)}; stderr ${stderr}`,
            ),
          ),
        timeoutMs,
      );
      listeners.add(check);
      check();
    });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, events, waitFor, exited };
}

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

describe.skipIf(!hasNatsServer())('NATS JetStream transport', () => {
  let server: NatsServerProcess;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('carries tasks out and results back, fetching each policy version once per worker', async () => {
    const transport = await createNatsTransport({ servers: server.url, runId: 'roundtrip' });
    const sources = await Promise.all(
      [0, 1].map(() => createNatsTaskSource({ servers: server.url, runId: 'roundtrip' })),
    );
    const controller = new AbortController();
    const workers = sources.map((source, index) =>
      runRolloutWorker({
        source,
        workerId: `w${index}`,
        signal: controller.signal,
        pollMs: 1000,
        handler: async ({ task, policy: snapshot }) => {
          if (Buffer.compare(snapshot.bytes, policy(task.policyVersion).bytes) !== 0)
            throw new Error('policy bytes differ');
          return trajectoryGroupFor(task);
        },
      }),
    );
    for (const version of [0, 1]) {
      await transport.publishPolicy(policy(version));
      const tasks = tasksFor(version, 6, version);
      await transport.submit(tasks);
      const report = await transport.collect({
        tasks,
        currentVersion: version,
        maxPolicyLag: 0,
        timeoutMs: 20_000,
      });
      expect(report.results.map((result) => result.taskId)).toEqual(
        tasks.map((task) => task.taskId),
      );
      expect(report.results.map((result) => result.group)).toEqual(
        tasks.map((task) => trajectoryGroupFor(task)),
      );
      expect(report).toMatchObject({
        stale: [],
        failed: [],
        deadLettered: [],
        timedOut: [],
        rejected: [],
      });
    }
    // Submitting done tasks again runs nothing, and collecting them again finds the stored outcomes.
    const again = tasksFor(0, 6, 0);
    await transport.submit(again);
    const report = await transport.collect({
      tasks: again,
      currentVersion: 1,
      maxPolicyLag: 1,
      timeoutMs: 5000,
    });
    expect(report.results).toHaveLength(6);
    controller.abort();
    const summaries = await Promise.all(workers);
    expect(summaries.reduce((sum, summary) => sum + summary.completed, 0)).toBe(12);
    for (const source of sources) expect(source.statistics.policyFetches).toBeLessThanOrEqual(2);
    expect(transport.getPosition().resultsSequence).toBeGreaterThanOrEqual(6);
    await Promise.all(sources.map((source) => source.close()));
    await transport.close();
  });

  it('drops results older than the staleness bound and reports a worker that throws', async () => {
    const transport = await createNatsTransport({ servers: server.url, runId: 'stale' });
    const source = await createNatsTaskSource({ servers: server.url, runId: 'stale' });
    for (const version of [1, 2, 5]) await transport.publishPolicy(policy(version));
    const controller = new AbortController();
    const worker = runRolloutWorker({
      source,
      workerId: 'old',
      signal: controller.signal,
      pollMs: 1000,
      handler: async ({ task }) => {
        if (task.seed === 401) throw new Error('tool server down');
        return trajectoryGroupFor(task);
      },
    });
    const tasks = [...tasksFor(4, 3, 1), ...tasksFor(6, 1, 5)];
    await transport.submit(tasks);
    const report = await transport.collect({
      tasks,
      currentVersion: 5,
      maxPolicyLag: 2,
      timeoutMs: 20_000,
    });
    controller.abort();
    await worker;
    expect(report.results.map((result) => result.taskId)).toEqual(['s6-g0']);
    expect(report.stale.map((result) => result.taskId)).toEqual(['s4-g0', 's4-g2']);
    expect(report.failed).toEqual([
      { taskId: 's4-g1', workerId: 'old', attempt: 1, error: 'Error: tool server down' },
    ]);
    await source.close();
    await transport.close();
  });

  it('redelivers the task of a worker killed mid-episode: no trajectory lost or doubled', async () => {
    const runId = 'killed';
    const transport = await createNatsTransport({ servers: server.url, runId, ackWaitMs: 1500 });
    await transport.publishPolicy(policy(0));
    const victim = spawnWorker(server.url, runId, 'victim');
    await victim.waitFor((event) => event.event === 'ready');
    const tasks = tasksFor(0, 4, 0, (index) =>
      index === 0 ? { firstAttemptSleepMs: 600_000, sleepMs: 100 } : { sleepMs: 100 },
    );
    await transport.submit(tasks.slice(0, 1));
    await victim.waitFor((event) => event.event === 'start' && event.taskId === 's0-g0');
    victim.child.kill('SIGKILL');
    await victim.exited;
    await transport.submit(tasks.slice(1));
    const survivor = spawnWorker(server.url, runId, 'survivor');
    try {
      const report = await transport.collect({
        tasks,
        currentVersion: 0,
        maxPolicyLag: 0,
        timeoutMs: 90_000,
      });
      expect(report.results.map((result) => result.taskId)).toEqual(
        tasks.map((task) => task.taskId),
      );
      const redelivered = report.results[0];
      expect(redelivered?.workerId).toBe('survivor');
      expect(redelivered?.attempt).toBe(2);
      expect(report.duplicates).toBe(0);
      await survivor.waitFor(
        () => survivor.events.filter((event) => event.event === 'completed').length === 4,
      );
      expect(survivor.events.filter((event) => event.event === 'start')).toHaveLength(4);
    } finally {
      stop(survivor.child);
      await transport.close();
    }
  }, 120_000);

  it('dead-letters a poisoned task that crashes every worker, and the run goes on', async () => {
    const runId = 'poison';
    const transport = await createNatsTransport({
      servers: server.url,
      runId,
      ackWaitMs: 1000,
      maxDeliver: 2,
    });
    await transport.publishPolicy(policy(0));
    const tasks = tasksFor(0, 3, 0, (index) => (index === 1 ? { poison: true } : { sleepMs: 50 }));
    const workers: ReturnType<typeof spawnWorker>[] = [];
    let running = true;
    // A supervisor, as systemd or a shell loop would be: a worker that dies is started again.
    const supervise = (name: string) => {
      const worker = spawnWorker(server.url, runId, `${name}-${workers.length}`);
      workers.push(worker);
      void worker.exited.then(() => {
        if (running) supervise(name);
      });
    };
    supervise('a');
    supervise('b');
    try {
      await transport.submit(tasks);
      const report = await transport.collect({
        tasks,
        currentVersion: 0,
        maxPolicyLag: 0,
        timeoutMs: 60_000,
      });
      expect(report.deadLettered).toEqual(['s0-g1']);
      expect(report.results.map((result) => result.taskId)).toEqual(['s0-g0', 's0-g2']);
      const poisonedStarts = workers
        .flatMap((worker) => worker.events)
        .filter((event) => event.event === 'start' && event.taskId === 's0-g1');
      expect(poisonedStarts.map((event) => event.attempt).sort()).toEqual([1, 2]);
      // The dead task left the work queue: a resumed learner's submit would not find it pending.
      expect(transport.getPosition().deadLetterSequence).toBe(1);
    } finally {
      running = false;
      for (const worker of workers) stop(worker.child);
      await transport.close();
    }
  }, 90_000);

  it('rides out a restart of nats-server mid-run: every task once, none doubled', async () => {
    const runId = 'restart';
    const transport = await createNatsTransport({
      servers: server.url,
      runId,
      ackWaitMs: 3000,
      requestTimeoutMs: 2000,
    });
    await transport.publishPolicy(policy(0));
    const sources = await Promise.all(
      [0, 1].map(() =>
        createNatsTaskSource({ servers: server.url, runId, requestTimeoutMs: 2000 }),
      ),
    );
    const controller = new AbortController();
    let completed = 0;
    const workers = sources.map((source, index) =>
      runRolloutWorker({
        source,
        workerId: `w${index}`,
        signal: controller.signal,
        pollMs: 1000,
        heartbeatMs: 500,
        handler: async ({ task }) => {
          await new Promise((resolve) => setTimeout(resolve, 150));
          return trajectoryGroupFor(task);
        },
        onTask: (event) => {
          if (event.outcome === 'completed') completed++;
        },
      }),
    );
    const tasks = tasksFor(0, 12, 0);
    await transport.submit(tasks);
    while (completed < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    await server.restart({ downMs: 1000 });
    const report = await transport.collect({
      tasks,
      currentVersion: 0,
      maxPolicyLag: 0,
      timeoutMs: 60_000,
    });
    controller.abort();
    await Promise.all(workers);
    expect(report.results.map((result) => result.taskId)).toEqual(tasks.map((task) => task.taskId));
    expect(report.results.map((result) => result.group)).toEqual(
      tasks.map((task) => trajectoryGroupFor(task)),
    );
    expect(report.timedOut).toEqual([]);
    await Promise.all(sources.map((source) => source.close()));
    await transport.close();
  }, 90_000);

  it('lets a learner that crashed resume: submitting again loses and doubles nothing', async () => {
    const runId = 'resume';
    const first = await createNatsTransport({ servers: server.url, runId });
    await first.publishPolicy(policy(3));
    const source = await createNatsTaskSource({ servers: server.url, runId });
    const controller = new AbortController();
    const starts = new Map<string, number>();
    const worker = runRolloutWorker({
      source,
      workerId: 'w',
      signal: controller.signal,
      pollMs: 1000,
      handler: async ({ task }) => {
        starts.set(task.taskId, (starts.get(task.taskId) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 100));
        return trajectoryGroupFor(task);
      },
    });
    const tasks = tasksFor(7, 6, 3);
    await first.submit(tasks);
    const partial = await first.collect({
      tasks,
      currentVersion: 3,
      maxPolicyLag: 0,
      timeoutMs: 250,
    });
    const checkpoint = first.getPosition();
    await first.close(); // the learner dies here, some tasks done, some queued, one maybe running
    expect(partial.results.length).toBeLessThan(6);

    const second = await createNatsTransport({ servers: server.url, runId });
    second.setPosition(checkpoint);
    await second.submit(tasks);
    const report = await second.collect({
      tasks,
      currentVersion: 3,
      maxPolicyLag: 0,
      timeoutMs: 30_000,
    });
    controller.abort();
    await worker;
    expect(report.results.map((result) => result.taskId)).toEqual(tasks.map((task) => task.taskId));
    expect([...starts.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    expect(second.getPosition().resultsSequence).toBeGreaterThan(checkpoint.resultsSequence);
    await source.close();
    await second.close();
  }, 60_000);
});
