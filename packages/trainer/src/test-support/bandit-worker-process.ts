// A rollout worker process for the trainer's NATS tests: the bandit set-up,
// the trainer's task handler, one JSON line per task on stdout.

import { initializeBackend } from '@cohort/tfjs';
import { runRolloutWorker } from '@cohort/transport';
import { createNatsTaskSource } from '@cohort/transport/nats';
import { banditTaskHandler } from './bandit-rollouts';

const [url, runId, workerId] = process.argv.slice(2);
if (url === undefined || runId === undefined || workerId === undefined)
  throw new Error('usage: bandit-worker-process URL RUN WORKER');
await initializeBackend({ logger: () => {} });
const say = (event: object) => process.stdout.write(`${JSON.stringify({ workerId, ...event })}\n`);
const source = await createNatsTaskSource({ servers: url, runId });
const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());
say({ event: 'ready' });
await runRolloutWorker({
  source,
  workerId,
  signal: controller.signal,
  pollMs: 200,
  handler: banditTaskHandler(),
  onTask: (event) => say({ event: event.outcome, taskId: event.taskId, error: event.error }),
});
await source.close();
