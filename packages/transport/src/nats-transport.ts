import { assertInteger, parseWithSchema } from '@cohort/core';
import {
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { CollectAccumulator } from './collect-accumulator';
import { retryWhileUnavailable } from './nats-retry';
import { ensureNatsTopology, type NatsTopology, natsTopology } from './nats-topology';
import { type PolicySnapshot, type RolloutTask, RolloutTaskSchema } from './rollout-records';
import type {
  CollectReport,
  CollectRequest,
  RolloutTransport,
  TransportPosition,
} from './rollout-transport';
import { waitForOutcomes } from './wait-for-outcomes';

/** Options of {@link createNatsTransport}. */
export interface NatsTransportOptions {
  /** NATS server URL(s), for example `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Names the run's streams and buckets; workers of the run use the same id. */
  runId: string;
  /** A task not heartbeaten for this long is handed to another worker. Default 30 000 ms. */
  ackWaitMs?: number;
  /** Deliveries of a task before it is dead-lettered. Default 3. */
  maxDeliver?: number;
  /** Window in which a second publish with the same id is dropped by the server. Default 10 minutes. */
  duplicateWindowMs?: number;
  /** Timeout of one JetStream API request. Default 20 000 ms (a loaded machine can be slow to answer). */
  requestTimeoutMs?: number;
  /** How long API calls are retried while the server is unreachable. Default 120 000 ms. */
  retryForMs?: number;
  /** Further connection options (credentials, TLS, name). */
  connection?: Partial<NodeConnectionOptions>;
}

/** The announcement under key `policy` of the run's key-value bucket. */
export interface PolicyAnnouncement {
  version: number;
  kind: string;
  object: string;
  digest: string;
  size: number;
}

/**
 * The learner's side of the NATS JetStream rollout transport.
 *
 * - Tasks go to a work-queue stream, one subject per task id, read by one
 *   durable pull consumer that every worker shares (explicit ack, redelivery
 *   after `ackWaitMs` without a heartbeat, dead letter after `maxDeliver`).
 * - Outcomes come back on a stream with one subject per task id, published
 *   with the task id as message id, so the server drops a second copy within
 *   the duplicate window and the learner counts only the first outside it.
 * - Policy versions are objects of an object store (chunked, SHA-256
 *   checked), announced under key `policy` of the run's key-value bucket.
 * - `submit` skips tasks that already have an outcome or are still queued, so a
 *   resumed learner that submits a step again loses and doubles nothing.
 *
 * @example
 * ```ts
 * const transport = await createNatsTransport({ servers: 'nats://127.0.0.1:4222', runId: 'run1' });
 * await transport.publishPolicy({ version: 0, kind: 'full', bytes });
 * await transport.submit(tasks);
 * const report = await transport.collect({ tasks, currentVersion: 0, maxPolicyLag: 0, timeoutMs: 600_000 });
 * ```
 */
export class NatsTransport implements RolloutTransport {
  readonly kind = 'nats';
  private position: TransportPosition = { resultsSequence: 0, deadLetterSequence: 0 };

  private constructor(
    private readonly connection: NatsConnection,
    private readonly manager: JetStreamManager,
    private readonly client: JetStreamClient,
    private readonly topology: NatsTopology,
    private readonly keyValue: KV,
    private readonly policies: ObjectStore,
    private readonly retryForMs: number,
  ) {}

  /** Connects and creates the run's streams, consumer and buckets where missing. */
  static async connect(options: NatsTransportOptions): Promise<NatsTransport> {
    const topology = natsTopology(options.runId);
    const settings = {
      ackWaitMs: positiveInteger('ackWaitMs', options.ackWaitMs ?? 30_000),
      maxDeliver: positiveInteger('maxDeliver', options.maxDeliver ?? 3),
      duplicateWindowMs: positiveInteger('duplicateWindowMs', options.duplicateWindowMs ?? 600_000),
    };
    const connection = await connect({
      servers: options.servers,
      name: `cohort-learner-${options.runId}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...options.connection,
    });
    try {
      const timeout = positiveInteger('requestTimeoutMs', options.requestTimeoutMs ?? 20_000);
      const manager = await jetstreamManager(connection, { timeout });
      await ensureNatsTopology(manager, topology, settings);
      const keyValue = await new Kvm(connection).create(topology.keyValueBucket, { history: 1 });
      const policies = await new Objm(connection).create(topology.policyBucket);
      return new NatsTransport(
        connection,
        manager,
        jetstream(connection, { timeout }),
        topology,
        keyValue,
        policies,
        positiveInteger('retryForMs', options.retryForMs ?? 120_000),
      );
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  async publishPolicy(snapshot: PolicySnapshot): Promise<void> {
    const object = `v${snapshot.version}`;
    const meta = { name: object, description: snapshot.kind };
    const info = await this.retry(() => this.policies.putBlob(meta, snapshot.bytes));
    const announcement: PolicyAnnouncement = {
      version: snapshot.version,
      kind: snapshot.kind,
      object,
      digest: info.digest,
      size: info.size,
    };
    await this.retry(() => this.keyValue.put('policy', JSON.stringify(announcement)));
  }

  async submit(tasks: readonly RolloutTask[]): Promise<void> {
    for (const task of tasks) {
      const parsed = parseWithSchema(RolloutTaskSchema, task, 'rollout task');
      if (
        await this.lastMessage(
          this.topology.outcomesStream,
          this.topology.outcomeSubject(parsed.taskId),
        )
      )
        continue;
      if (
        await this.lastMessage(this.topology.tasksStream, this.topology.taskSubject(parsed.taskId))
      )
        continue;
      const subject = this.topology.taskSubject(parsed.taskId);
      await this.retry(() =>
        this.client.publish(subject, JSON.stringify(parsed), { msgID: parsed.taskId }),
      );
    }
  }

  async collect(request: CollectRequest): Promise<CollectReport> {
    const accumulator = new CollectAccumulator(request);
    const taskIds = new Set(request.tasks.map((task) => task.taskId));
    const stream = await this.retry(() => this.manager.streams.info(this.topology.outcomesStream));
    const lastSequence = stream.state.last_seq;
    for (const taskId of accumulator.pending) {
      const stored = await this.lastMessage(
        this.topology.outcomesStream,
        this.topology.outcomeSubject(taskId),
      );
      if (stored === null) continue;
      this.position.resultsSequence = Math.max(this.position.resultsSequence, stored.seq);
      this.offerOutcome(accumulator, stored.json());
    }
    if (accumulator.done) return accumulator.finish();

    const outcomes = await this.retry(async () =>
      (
        await this.client.consumers.get(this.topology.outcomesStream, {
          filter_subjects: this.topology.outcomeSubject('*'),
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: lastSequence + 1,
        })
      ).consume(),
    );
    const deadLetters = await this.retry(async () =>
      (
        await this.client.consumers.get(this.topology.deadLetterStream, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: this.position.deadLetterSequence + 1,
        })
      ).consume(),
    );
    const wakers = new Set<() => void>();
    const wakeAll = () => {
      for (const wake of wakers) wake();
    };
    const readOutcomes = (async () => {
      for await (const message of outcomes) {
        this.position.resultsSequence = Math.max(this.position.resultsSequence, message.seq);
        const taskId = message.subject.slice(this.topology.outcomeSubject('').length);
        if (taskIds.has(taskId)) this.offerOutcome(accumulator, message.json());
        wakeAll();
      }
    })();
    const readDeadLetters = (async () => {
      for await (const message of deadLetters) {
        this.position.deadLetterSequence = message.seq;
        const advisory = message.json<{ stream_seq?: number }>();
        if (typeof advisory.stream_seq !== 'number') continue;
        const task = await this.manager.streams
          .getMessage(this.topology.tasksStream, { seq: advisory.stream_seq })
          .catch(() => null);
        if (task === null) continue;
        const taskId = task.json<{ taskId?: unknown }>().taskId;
        if (typeof taskId === 'string' && taskIds.has(taskId)) {
          accumulator.deadLetter(taskId);
          // Out of the work queue, so a resumed learner's submit sees it as gone and the record of it stays here.
          await this.manager.streams
            .deleteMessage(this.topology.tasksStream, advisory.stream_seq)
            .catch(() => false);
        }
        wakeAll();
      }
    })();
    try {
      await waitForOutcomes({
        accumulator,
        timeoutMs: request.timeoutMs,
        signal: request.signal,
        subscribe: (wake) => {
          wakers.add(wake);
          return () => wakers.delete(wake);
        },
      });
    } finally {
      await outcomes.close();
      await deadLetters.close();
      await Promise.allSettled([readOutcomes, readDeadLetters]);
    }
    return accumulator.finish();
  }

  getPosition(): TransportPosition {
    return { ...this.position };
  }

  setPosition(position: TransportPosition): void {
    this.position = { ...position };
  }

  /** The run's topology names, for tools and tests. */
  get names(): NatsTopology {
    return this.topology;
  }

  async close(): Promise<void> {
    await this.connection.drain();
  }

  private async lastMessage(stream: string, subject: string) {
    return this.retry(() =>
      this.manager.streams.getMessage(stream, { last_by_subj: subject }).catch((error: unknown) => {
        if (isNotFound(error)) return null;
        throw error;
      }),
    );
  }

  private retry<T>(operation: () => Promise<T>): Promise<T> {
    return retryWhileUnavailable(operation, { retryForMs: this.retryForMs });
  }

  private offerOutcome(accumulator: CollectAccumulator, outcome: unknown): void {
    if (outcome === null || typeof outcome !== 'object') return;
    const { type, data } = outcome as { type?: unknown; data?: unknown };
    if (type === 'result') accumulator.offerResult(data);
    else if (type === 'failure') accumulator.offerFailure(data);
  }
}

/** Connects the learner's side of the NATS JetStream transport. */
export function createNatsTransport(options: NatsTransportOptions): Promise<NatsTransport> {
  return NatsTransport.connect(options);
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && /not found|no message/i.test(error.message);
}

function positiveInteger(argument: string, value: number): number {
  assertInteger(argument, value, 1);
  return value;
}
