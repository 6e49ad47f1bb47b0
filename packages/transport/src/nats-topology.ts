import { InvalidArgumentError } from '@cohort/core';
import { AckPolicy, type JetStreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';

/** The streams, consumer, subjects and buckets of one training run on NATS JetStream. */
export interface NatsTopology {
  runId: string;
  /** Work-queue stream of rollout tasks, one subject per task id. */
  tasksStream: string;
  /** Stream of outcomes (results and failures), one subject per task id. */
  outcomesStream: string;
  /** Stream that keeps the server's max-deliveries advisories of the tasks consumer: the dead letters. */
  deadLetterStream: string;
  /** Durable pull consumer that every worker shares. */
  workersConsumer: string;
  /** Key-value bucket of the run; key `policy` announces the latest policy version. */
  keyValueBucket: string;
  /** Object store of policy versions, objects named `v<version>`. */
  policyBucket: string;
  taskSubject(taskId: string): string;
  outcomeSubject(taskId: string): string;
}

/** Names everything of run `runId` (letters, digits, `_` and `-`). */
export function natsTopology(runId: string): NatsTopology {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(runId)) {
    throw new InvalidArgumentError({
      argument: 'runId',
      value: runId,
      message: 'must be 1-64 characters from A-Z a-z 0-9 _ -',
    });
  }
  const tasksStream = `COHORT_${runId}_TASKS`;
  const workersConsumer = 'workers';
  return {
    runId,
    tasksStream,
    outcomesStream: `COHORT_${runId}_OUTCOMES`,
    deadLetterStream: `COHORT_${runId}_DEAD`,
    workersConsumer,
    keyValueBucket: `cohort_${runId}`,
    policyBucket: `cohort_${runId}_policy`,
    taskSubject: (taskId) => `cohort.${runId}.task.${taskId}`,
    outcomeSubject: (taskId) => `cohort.${runId}.outcome.${taskId}`,
  };
}

/** Settings of the topology that the learner creates. */
export interface NatsTopologySettings {
  ackWaitMs: number;
  maxDeliver: number;
  duplicateWindowMs: number;
}

const nanosPerMillisecond = 1_000_000;

/**
 * Creates the run's streams and the workers' consumer when they do not exist
 * (the learner does this; workers only open them). Idempotent, so a resumed
 * learner finds what it made before.
 */
export async function ensureNatsTopology(
  manager: JetStreamManager,
  topology: NatsTopology,
  settings: NatsTopologySettings,
): Promise<void> {
  const existing = new Set<string>();
  for await (const name of manager.streams.names()) existing.add(name);
  const duplicateWindow = settings.duplicateWindowMs * nanosPerMillisecond;
  if (!existing.has(topology.tasksStream)) {
    await manager.streams.add({
      name: topology.tasksStream,
      subjects: [topology.taskSubject('*')],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: duplicateWindow,
    });
  }
  if (!existing.has(topology.outcomesStream)) {
    await manager.streams.add({
      name: topology.outcomesStream,
      subjects: [topology.outcomeSubject('*')],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: duplicateWindow,
    });
  }
  if (!existing.has(topology.deadLetterStream)) {
    await manager.streams.add({
      name: topology.deadLetterStream,
      subjects: [
        `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${topology.tasksStream}.${topology.workersConsumer}`,
      ],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
    });
  }
  const consumer = await manager.consumers
    .info(topology.tasksStream, topology.workersConsumer)
    .catch(() => null);
  if (consumer === null) {
    await manager.consumers.add(topology.tasksStream, {
      durable_name: topology.workersConsumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: settings.ackWaitMs * nanosPerMillisecond,
      max_deliver: settings.maxDeliver,
      filter_subject: topology.taskSubject('*'),
    });
  }
}
