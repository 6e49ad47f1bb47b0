import { CohortError, InvalidArgumentError } from '@cohort/core';
import { type Consumer, type JetStreamClient, type JsMsg, jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { retryWhileUnavailable } from './nats-retry';
import { type NatsTopology, natsTopology } from './nats-topology';
import type { PolicyAnnouncement } from './nats-transport';
import { type PolicySnapshot, RolloutTaskSchema } from './rollout-records';
import type { RolloutTaskSource, TaskLease } from './rollout-transport';

/** Options of {@link createNatsTaskSource}. */
export interface NatsTaskSourceOptions {
  servers: string | string[];
  runId: string;
  /** How long to wait for the learner to create the run's streams. Default 60 000 ms. */
  startTimeoutMs?: number;
  /** Policy versions kept in memory. Default 3. */
  policyCacheSize?: number;
  /** Timeout of one JetStream API request. Default 20 000 ms. */
  requestTimeoutMs?: number;
  connection?: Partial<NodeConnectionOptions>;
}

/** Counters of what the source did, for logs and tests. */
export interface NatsTaskSourceStatistics {
  /** Policy objects fetched from the object store (each version once). */
  policyFetches: number;
  /** Tasks that failed validation and were terminated without a run. */
  malformedTasks: number;
  /** Polls that failed on a connection problem (retried). */
  connectionErrors: number;
}

const minimumHeartbeatGapMs = 1000;

/**
 * The worker's side of the NATS JetStream rollout transport: pulls tasks from
 * the run's shared durable consumer, fetches each policy version once (cached
 * by version; the object store checks its SHA-256 digest), watches the
 * `policy` key to fetch a new version before the first task needs it, and
 * stores each outcome before it acknowledges the task.
 *
 * @example
 * ```ts
 * const source = await createNatsTaskSource({ servers: 'nats://10.0.0.5:4222', runId: 'run1' });
 * await runRolloutWorker({ source, workerId: 'gpu-box-1', handler });
 * ```
 */
export class NatsTaskSource implements RolloutTaskSource {
  readonly kind = 'nats';
  readonly statistics: NatsTaskSourceStatistics = {
    policyFetches: 0,
    malformedTasks: 0,
    connectionErrors: 0,
  };
  private readonly cache = new Map<number, Promise<PolicySnapshot>>();
  private watching: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly connection: NatsConnection,
    private readonly client: JetStreamClient,
    private readonly consumer: Consumer,
    private readonly topology: NatsTopology,
    private readonly policies: ObjectStore,
    private readonly cacheSize: number,
  ) {}

  /** Connects and waits until the learner has created the run's consumer. */
  static async connect(options: NatsTaskSourceOptions): Promise<NatsTaskSource> {
    const topology = natsTopology(options.runId);
    const cacheSize = options.policyCacheSize ?? 3;
    if (!Number.isInteger(cacheSize) || cacheSize < 1) {
      throw new InvalidArgumentError({
        argument: 'policyCacheSize',
        value: cacheSize,
        message: 'must be a positive integer',
      });
    }
    const connection = await connect({
      servers: options.servers,
      name: `cohort-worker-${options.runId}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...options.connection,
    });
    try {
      const client = jetstream(connection, { timeout: options.requestTimeoutMs ?? 20_000 });
      const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
      // The learner creates the task stream, its consumer and the policy bucket one after another:
      // a worker that starts first waits for all of them, not just the first.
      let consumer: Consumer | undefined;
      let policies: Awaited<ReturnType<Objm['open']>> | undefined;
      while (consumer === undefined || policies === undefined) {
        consumer ??= await client.consumers
          .get(topology.tasksStream, topology.workersConsumer)
          .catch(() => undefined);
        policies ??= await new Objm(connection).open(topology.policyBucket).catch(() => undefined);
        if (consumer !== undefined && policies !== undefined) break;
        if (Date.now() > deadline) {
          throw new TransportStartError(
            `run '${options.runId}' has no ${consumer === undefined ? 'task stream' : 'policy bucket'} on ${String(options.servers)}: is its learner running?`,
          );
        }
        await sleep(250);
      }
      const source = new NatsTaskSource(
        connection,
        client,
        consumer,
        topology,
        policies,
        cacheSize,
      );
      source.watching = source.watchPolicies();
      return source;
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  async next(options: { waitMs: number }): Promise<TaskLease | null> {
    let message: JsMsg | null;
    try {
      message = await this.consumer.next({ expires: Math.max(1000, options.waitMs) });
    } catch {
      if (this.closed) return null;
      // The server restarted or the connection dropped: the client reconnects by itself; poll again later.
      this.statistics.connectionErrors++;
      await sleep(Math.min(options.waitMs, 500));
      return null;
    }
    if (message === null) return null;
    const parsed = RolloutTaskSchema.safeParse(message.json());
    if (!parsed.success) {
      this.statistics.malformedTasks++;
      message.term('malformed rollout task');
      return null;
    }
    return this.lease(message, parsed.data);
  }

  async policy(version: number): Promise<PolicySnapshot> {
    let snapshot = this.cache.get(version);
    if (snapshot === undefined) {
      snapshot = this.fetchPolicy(version);
      this.cache.set(version, snapshot);
      snapshot.catch(() => this.cache.delete(version));
      while (this.cache.size > this.cacheSize) {
        const oldest = Math.min(...this.cache.keys());
        this.cache.delete(oldest);
      }
    }
    return snapshot;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connection.drain().catch(() => {});
    await this.watching?.catch(() => {});
  }

  private lease(message: JsMsg, task: TaskLease['task']): TaskLease {
    let lastHeartbeat = 0;
    const store = async (outcome: object) => {
      await this.client.publish(
        this.topology.outcomeSubject(task.taskId),
        JSON.stringify(outcome),
        { msgID: task.taskId },
      );
      await message.ackAck();
    };
    return {
      task,
      attempt: message.info.deliveryCount,
      heartbeat: () => {
        const now = Date.now();
        if (now - lastHeartbeat < minimumHeartbeatGapMs) return;
        lastHeartbeat = now;
        message.working();
      },
      complete: (result) => store({ type: 'result', data: result }),
      fail: (failure) => store({ type: 'failure', data: failure }),
    };
  }

  private async fetchPolicy(version: number): Promise<PolicySnapshot> {
    const name = `v${version}`;
    const [info, bytes] = await retryWhileUnavailable(
      async () => [await this.policies.info(name), await this.policies.getBlob(name)] as const,
      { retryForMs: 120_000 },
    );
    if (info === null || bytes === null) {
      throw new InvalidArgumentError({
        argument: 'policyVersion',
        value: version,
        message: `has no object '${name}' in ${this.topology.policyBucket}`,
      });
    }
    this.statistics.policyFetches++;
    return { version, kind: info.description ?? 'full', bytes };
  }

  private async watchPolicies(): Promise<void> {
    const keyValue = await new Kvm(this.connection).open(this.topology.keyValueBucket);
    const updates = await keyValue.watch({ key: 'policy' });
    for await (const entry of updates) {
      if (this.closed) break;
      if (entry.operation !== 'PUT') continue;
      const announcement = entry.json<PolicyAnnouncement>();
      if (Number.isInteger(announcement.version)) this.policy(announcement.version).catch(() => {});
    }
  }
}

/** Connects the worker's side of the NATS JetStream transport. */
export function createNatsTaskSource(options: NatsTaskSourceOptions): Promise<NatsTaskSource> {
  return NatsTaskSource.connect(options);
}

/** A worker could not find its run on the server. */
export class TransportStartError extends CohortError {
  constructor(message: string) {
    super({ name: 'TransportStartError', message });
  }
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
