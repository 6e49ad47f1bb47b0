// A learner process for the trainer's NATS tests: the bandit trainer over
// NATS, a checkpoint after every step, resumed from the newest one when
// started again. One JSON line per finished step; the final weights at the end.

import { initializeBackend } from '@cohort/tfjs';
import { createNatsTransport } from '@cohort/transport/nats';
import { TrainingRun } from '../training-run';
import { banditTrainer } from './bandit-rollouts';

const [url, runId, runDirectory, steps, seed] = process.argv.slice(2);
if (
  url === undefined ||
  runId === undefined ||
  runDirectory === undefined ||
  steps === undefined ||
  seed === undefined
)
  throw new Error('usage: bandit-learner-process URL RUN DIRECTORY STEPS SEED');
await initializeBackend({ logger: () => {} });
const say = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);
const transport = await createNatsTransport({ servers: url, runId });
const { policy, trainer } = banditTrainer({
  seed: Number(seed),
  config: { checkpoint: { everySteps: 1, keep: 2 } },
  rollouts: { transport, timeoutMs: 60_000 },
});
const run = new TrainingRun({
  trainer,
  runDirectory,
  steps: Number(steps),
  onEvent: (event) => {
    if (event.type === 'step') say({ event: 'step', step: event.metrics.step });
    if (event.type === 'rollouts')
      say({ event: 'rollouts', groups: event.groups.map((group) => group.groupId) });
  },
});
say({ event: 'resumed', step: await run.resume() });
await run.run();
say({ event: 'done', logits: Array.from(policy.getWeights().logits!.data) });
await transport.close();
