// A rollout worker process for the fault tests: crashes on a poisoned task,
// sleeps (heartbeating) when asked, and prints one JSON line per event.
import { createNatsTaskSource } from '../nats-task-source';
import { runRolloutWorker } from '../rollout-worker';
import { trajectoryGroupFor } from './trajectory-group';

const [url, runId, workerId] = process.argv.slice(2);
if (url === undefined || runId === undefined || workerId === undefined)
  throw new Error('usage: worker-process URL RUN WORKER');
const say = (event: object) => process.stdout.write(`${JSON.stringify({ workerId, ...event })}\n`);
const source = await createNatsTaskSource({ servers: url, runId });
say({ event: 'ready' });
const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());
await runRolloutWorker({
  source,
  workerId,
  signal: controller.signal,
  pollMs: 1000,
  heartbeatMs: 200,
  handler: async ({ task, attempt, heartbeat }) => {
    say({ event: 'start', taskId: task.taskId, attempt });
    const payload = (task.payload ?? {}) as {
      poison?: boolean;
      sleepMs?: number;
      firstAttemptSleepMs?: number;
    };
    if (payload.poison) process.exit(3);
    const until =
      Date.now() +
      (attempt === 1
        ? (payload.firstAttemptSleepMs ?? payload.sleepMs ?? 0)
        : (payload.sleepMs ?? 0));
    while (Date.now() < until) {
      heartbeat();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return trajectoryGroupFor(task);
  },
  onTask: (event) => say({ event: event.outcome, taskId: event.taskId, attempt: event.attempt }),
});
await source.close();
