import { hostname } from 'node:os';
import { runRolloutWorker } from '@cohort/transport';
import {
  createNatsTaskSource,
  type NatsTaskSource,
  TransportStartError,
} from '@cohort/transport/nats';
import {
  type AppConfig,
  defaultAppConfigInput,
  readConfigFile,
  resolveAppConfig,
} from '../app-config';
import type { CliIo } from '../cli-io';
import type { WorkerCommand } from '../command-line';
import { type ExitCode, exitCodes, UsageError } from '../exit-codes';
import { createAppRolloutHandler } from '../rollout-workers';
import { assertRunModulesTrusted, readRunConfig } from '../run-config';

async function workerConfig(command: WorkerCommand): Promise<AppConfig> {
  if (command.runDirectory !== undefined) {
    const config = await readRunConfig(command.runDirectory);
    assertRunModulesTrusted({
      config,
      runDirectory: command.runDirectory,
      trusted: command.trustRunModules,
    });
    return config;
  }
  const input = command.config ? await readConfigFile(command.config) : defaultAppConfigInput;
  return resolveAppConfig(input, {});
}

/**
 * `agent-trainer worker --nats URL --run-id ID`: a rollout worker for a
 * learner on this machine or another. It builds the run's policy
 * architecture, environment and rewards from the same config as the learner
 * (`--config FILE`, or `--run-dir DIR` on the learner's machine), then pulls
 * tasks, loads each policy version once, runs the episodes, heartbeats
 * between turns, and acknowledges a task only after its result is stored.
 * SIGINT or SIGTERM stops it after the task in hand.
 */
export async function workerCommand(command: WorkerCommand, io: CliIo): Promise<ExitCode> {
  const config = await workerConfig(command);
  const log = command.verbose ? (line: string) => io.stderr.write(`${line}\n`) : undefined;
  const handler = await createAppRolloutHandler(config, log);
  const workerId = command.workerId ?? `${hostname()}-${process.pid}`;
  let source: NatsTaskSource;
  try {
    source = await createNatsTaskSource({
      servers: command.nats,
      runId: command.runId,
      startTimeoutMs: command.waitSeconds * 1000,
    });
  } catch (error) {
    if (error instanceof TransportStartError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  const say = (event: Record<string, unknown>, line: string) =>
    command.json
      ? io.stdout.write(`${JSON.stringify({ workerId, ...event })}\n`)
      : io.stderr.write(`${line}\n`);
  say(
    { type: 'ready', nats: command.nats, runId: command.runId },
    `worker ${workerId}: pulling tasks of run ${command.runId} from ${command.nats}`,
  );
  const controller = new AbortController();
  const removeInterrupt = io.onInterrupt(() => controller.abort());
  const onTerminate = () => controller.abort();
  process.on('SIGTERM', onTerminate);
  try {
    const summary = await runRolloutWorker({
      source,
      workerId,
      handler,
      signal: controller.signal,
      onTask: (event) =>
        say(
          { type: 'task', ...event },
          `worker ${workerId}: ${event.taskId} ${event.outcome}${event.attempt > 1 ? ` (try ${event.attempt})` : ''}${event.error ? `: ${event.error}` : ''}`,
        ),
    });
    say(
      { type: 'stopped', ...summary },
      `worker ${workerId}: stopped after ${summary.completed} tasks (${summary.failed} failed, ${summary.unstored} not stored)`,
    );
  } finally {
    removeInterrupt();
    process.off('SIGTERM', onTerminate);
    await source.close();
  }
  return exitCodes.ok;
}
