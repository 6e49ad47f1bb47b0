import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initializeBackend } from '@cohort/tfjs';
import { createInProcessTransport, runRolloutWorker } from '@cohort/transport';
import {
  createNatsTransport,
  hasNatsServer,
  type NatsServerProcess,
  startNatsServer,
} from '@cohort/transport/nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepMetrics } from './grpo-trainer';
import { banditTaskHandler, banditTrainer } from './test-support/bandit-rollouts';
import { type JsonLinesProcess, spawnJsonLines } from './test-support/json-lines-process';

// CI installs Debian's nats-server; elsewhere these tests say they are skipped.
if (process.env.CI && !hasNatsServer())
  throw new Error('nats-server is missing: .ci/run installs it from Debian');

const workerScript = './bandit-worker-process.ts';
const learnerScript = './bandit-learner-process.ts';

/** The reference: the same run with an in-process transport and one worker in this process. */
async function inProcessRun(seed: number, steps: number) {
  const transport = createInProcessTransport();
  const controller = new AbortController();
  const worker = runRolloutWorker({
    source: transport.source(),
    workerId: 'here',
    signal: controller.signal,
    pollMs: 20,
    handler: banditTaskHandler(),
  });
  const { policy, trainer } = banditTrainer({ seed, rollouts: { transport, timeoutMs: 20_000 } });
  const metrics: StepMetrics[] = [];
  for (let step = 0; step < steps; step++) metrics.push(await trainer.step());
  controller.abort();
  await worker;
  return { logits: Array.from(policy.getWeights().logits!.data), metrics };
}

function completedTaskIds(workers: readonly JsonLinesProcess[]): string[] {
  return workers.flatMap((worker) =>
    worker.events
      .filter((event) => event.event === 'completed')
      .map((event) => String(event.taskId)),
  );
}

describe.skipIf(!hasNatsServer())('trainer rollouts on NATS JetStream', () => {
  let server: NatsServerProcess;
  const workers: JsonLinesProcess[] = [];

  beforeAll(async () => {
    await initializeBackend({ logger: () => {} });
    server = await startNatsServer();
  });

  afterAll(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await server?.stop();
  });

  /** Worker processes; each connects once the learner has made the run's streams. */
  function startWorkers(runId: string, count: number): JsonLinesProcess[] {
    const started = Array.from({ length: count }, (_, index) =>
      spawnJsonLines(workerScript, [server.url, runId, `${runId}-worker-${index}`]),
    );
    workers.push(...started);
    return started;
  }

  it('synchronous mode with two worker processes is bit-identical to the in-process run', async () => {
    const steps = 4;
    const reference = await inProcessRun(21, steps);
    const runId = 'sync';
    const transport = await createNatsTransport({ servers: server.url, runId });
    const started = startWorkers(runId, 2);
    // Both pulling before the first task goes out, so a slow start does not leave one idle.
    await Promise.all(started.map((worker) => worker.waitFor((event) => event.event === 'ready')));
    const { policy, trainer } = banditTrainer({
      seed: 21,
      rollouts: { transport, timeoutMs: 60_000 },
    });
    const metrics: StepMetrics[] = [];
    for (let step = 0; step < steps; step++) metrics.push(await trainer.step());
    await transport.close();
    for (const worker of started) worker.child.kill('SIGTERM');
    expect(Array.from(policy.getWeights().logits!.data)).toEqual(reference.logits);
    expect(metrics.map((step) => [step.rewardMean, step.loss, step.gradNorm])).toEqual(
      reference.metrics.map((step) => [step.rewardMean, step.loss, step.gradNorm]),
    );
    // Both processes did work, and each task was run once.
    const done = completedTaskIds(started);
    expect(done).toHaveLength(steps * 3);
    expect(new Set(done).size).toBe(done.length);
    for (const worker of started)
      expect(worker.events.some((event) => event.event === 'completed')).toBe(true);
  }, 120_000);

  it('a learner killed mid-step resumes from its checkpoint with nothing lost or run twice', async () => {
    const steps = 6;
    const reference = await inProcessRun(33, steps);
    const runId = 'resume';
    const started = startWorkers(runId, 2);
    const runDirectory = mkdtempSync(join(tmpdir(), 'cohort-learner-'));
    let second: JsonLinesProcess | undefined;
    try {
      const first = spawnJsonLines(learnerScript, [
        server.url,
        runId,
        runDirectory,
        String(steps),
        '33',
      ]);
      // Killed once a group of its 4th step (index 3) is stored: mid-step, after the checkpoint of step 3.
      await first.waitFor((event) => event.event === 'step' && event.step === 3);
      await Promise.race(
        started.map((worker) =>
          worker.waitFor(
            (event) => event.event === 'completed' && String(event.taskId).startsWith('s3r0'),
          ),
        ),
      );
      first.child.kill('SIGKILL');
      await first.exited;
      expect(first.events.some((event) => event.event === 'step' && event.step === 4)).toBe(false);
      const checkpoints = readdirSync(join(runDirectory, 'checkpoints'));
      expect(checkpoints.at(-1)).toBe('step-000003');
      const { metadata } = JSON.parse(
        readFileSync(join(runDirectory, 'checkpoints', 'step-000003', 'state.json'), 'utf8'),
      );
      // The checkpoint holds the transport's position: the 9 results of steps 0-2 read.
      expect(metadata.trainer.rollouts.position.resultsSequence).toBe(9);

      second = spawnJsonLines(learnerScript, [
        server.url,
        runId,
        runDirectory,
        String(steps),
        '33',
      ]);
      const resumed = await second.waitFor((event) => event.event === 'resumed');
      expect(resumed.step).toBe(3);
      const done = await second.waitFor((event) => event.event === 'done', 90_000);
      // The same weights as a run never interrupted: every group trained on once, none lost.
      expect(done.logits).toEqual(reference.logits);
      const completed = completedTaskIds(started);
      expect(completed).toHaveLength(steps * 3);
      expect(new Set(completed).size).toBe(completed.length);
    } finally {
      for (const worker of started) worker.child.kill('SIGTERM');
      // The resumed learner may still be writing its last checkpoint after 'done': let it finish.
      if (second && second.child.exitCode === null && second.child.signalCode === null) {
        const timer = setTimeout(() => second?.child.kill('SIGKILL'), 15_000);
        await second.exited;
        clearTimeout(timer);
      }
      rmSync(runDirectory, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    }
  }, 180_000);
});
