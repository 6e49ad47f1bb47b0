/**
 * One side of bench/grpo-step-engines.ts: builds the default app run's
 * trainer (the config given as JSON in argv[2], merged over the default run)
 * in the source tree this file sits in, then runs one GRPO step per `step`
 * line on stdin and answers one JSON line per step.
 */
import { createInterface } from 'node:readline';

const { resolveAppConfig } = await import('../apps/agent-trainer/src/app-config.ts');
const { createTrainer } = await import('../apps/agent-trainer/src/training-setup.ts');

const config = resolveAppConfig(JSON.parse(process.argv[2] ?? '{}'));
const trainer = await createTrainer({ config });
process.stdout.write(`${JSON.stringify({ type: 'ready' })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== 'step') continue;
  const started = performance.now();
  const metrics = await trainer.step();
  const seconds = (performance.now() - started) / 1000;
  const record = metrics as unknown as Record<string, unknown>;
  process.stdout.write(
    `${JSON.stringify({
      type: 'step',
      seconds,
      rewardMean: metrics.rewardMean,
      sampledTokens: metrics.sampledTokens,
      timings: metrics.timings,
      logProbMismatchMax: record.logProbMismatchMax ?? null,
      logProbMismatchMean: record.logProbMismatchMean ?? null,
      maxRssMegabytes: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
}
