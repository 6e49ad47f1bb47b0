import { assertInteger, InvalidArgumentError, parseWithSchema } from '@cohort/core';
import { CollectAccumulator } from './collect-accumulator';
import {
  type PolicySnapshot,
  type RolloutFailure,
  type RolloutResult,
  type RolloutTask,
  RolloutTaskSchema,
} from './rollout-records';
import type {
  CollectReport,
  CollectRequest,
  RolloutTaskSource,
  RolloutTransport,
  TaskLease,
  TransportPosition,
} from './rollout-transport';
import { waitForOutcomes } from './wait-for-outcomes';

/** Options of {@link createInProcessTransport}. */
export interface InProcessTransportOptions {
  /** A lease not heartbeaten for this long is handed out again. Default 30 000 ms. */
  ackWaitMs?: number;
  /** After this many deliveries without an outcome a task is dead-lettered. Default 3. */
  maxDeliver?: number;
}

type Outcome =
  | { type: 'result'; data: RolloutResult }
  | { type: 'failure'; data: RolloutFailure }
  | { type: 'dead'; taskId: string };

interface QueuedTask {
  task: RolloutTask;
  deliveries: number;
}

/**
 * The in-process rollout transport: a queue in memory with the same
 * semantics as the NATS one (leases that expire unless heartbeaten,
 * redelivery, dead letters after `maxDeliver`, first outcome wins), so code
 * written against {@link RolloutTransport} behaves the same on one machine and
 * on many.
 *
 * @example
 * ```ts
 * const transport = createInProcessTransport();
 * const worker = runRolloutWorker({ source: transport.source(), workerId: 'w0', handler });
 * await transport.submit(tasks);
 * const report = await transport.collect({ tasks, currentVersion: 0, maxPolicyLag: 0, timeoutMs: 60_000 });
 * ```
 *
 * Every outcome stays in memory for the life of the transport (a few
 * kilobytes per task).
 */
export class InProcessTransport implements RolloutTransport {
  readonly kind = 'in-process';
  private readonly ackWaitMs: number;
  private readonly maxDeliver: number;
  private readonly queue: QueuedTask[] = [];
  private readonly known = new Set<string>();
  private readonly outcomes = new Map<string, Outcome[]>();
  private readonly policies = new Map<number, PolicySnapshot>();
  private readonly listeners = new Set<() => void>();
  private readonly waitingWorkers = new Set<() => void>();
  private position: TransportPosition = { resultsSequence: 0, deadLetterSequence: 0 };
  private closed = false;

  constructor(options: InProcessTransportOptions = {}) {
    this.ackWaitMs = positiveInteger('ackWaitMs', options.ackWaitMs ?? 30_000);
    this.maxDeliver = positiveInteger('maxDeliver', options.maxDeliver ?? 3);
  }

  async publishPolicy(snapshot: PolicySnapshot): Promise<void> {
    this.policies.set(snapshot.version, { ...snapshot, bytes: snapshot.bytes.slice() });
  }

  async submit(tasks: readonly RolloutTask[]): Promise<void> {
    for (const task of tasks) {
      const parsed = parseWithSchema(RolloutTaskSchema, task, 'rollout task');
      if (this.known.has(parsed.taskId)) continue;
      this.known.add(parsed.taskId);
      this.queue.push({ task: parsed, deliveries: 0 });
    }
    for (const wake of [...this.waitingWorkers]) wake();
  }

  async collect(request: CollectRequest): Promise<CollectReport> {
    const accumulator = new CollectAccumulator(request);
    // Outcomes stay stored, so collecting a task again (a resumed learner) finds it; each copy is fed once per collect.
    const fed = new Map<string, number>();
    const drain = () => {
      for (const task of request.tasks) {
        const outcomes = this.outcomes.get(task.taskId) ?? [];
        for (const outcome of outcomes.slice(fed.get(task.taskId) ?? 0))
          this.offer(accumulator, outcome);
        fed.set(task.taskId, outcomes.length);
      }
    };
    drain();
    await waitForOutcomes({
      accumulator,
      timeoutMs: request.timeoutMs,
      signal: request.signal,
      subscribe: (wake) => {
        const listener = () => {
          drain();
          wake();
        };
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
    });
    return accumulator.finish();
  }

  getPosition(): TransportPosition {
    return { ...this.position };
  }

  setPosition(position: TransportPosition): void {
    this.position = { ...position };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.waitingWorkers]) wake();
  }

  /** The worker side, for workers in this process. */
  source(): RolloutTaskSource {
    return {
      kind: this.kind,
      next: (options) => this.next(options.waitMs),
      policy: async (version) => {
        const snapshot = this.policies.get(version);
        if (snapshot === undefined) {
          throw new InvalidArgumentError({
            argument: 'version',
            value: version,
            message: 'was never published',
          });
        }
        return snapshot;
      },
      close: async () => {},
    };
  }

  private offer(accumulator: CollectAccumulator, outcome: Outcome): void {
    if (outcome.type === 'result') accumulator.offerResult(outcome.data);
    else if (outcome.type === 'failure') accumulator.offerFailure(outcome.data);
    else accumulator.deadLetter(outcome.taskId);
  }

  private record(taskId: string, outcome: Outcome): void {
    if (outcome.type === 'dead') this.position.deadLetterSequence++;
    else this.position.resultsSequence++;
    const list = this.outcomes.get(taskId) ?? [];
    list.push(outcome);
    this.outcomes.set(taskId, list);
    for (const listener of [...this.listeners]) listener();
  }

  private async next(waitMs: number): Promise<TaskLease | null> {
    const deadline = Date.now() + waitMs;
    while (this.queue.length === 0 && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waitingWorkers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waitingWorkers.add(wake);
      });
    }
    const queued = this.queue.shift();
    if (queued === undefined) return null;
    queued.deliveries++;
    return this.lease(queued);
  }

  private lease(queued: QueuedTask): TaskLease {
    let settled = false;
    let timer: ReturnType<typeof setTimeout>;
    const expire = () => {
      if (settled) return;
      settled = true;
      if (queued.deliveries >= this.maxDeliver)
        this.record(queued.task.taskId, { type: 'dead', taskId: queued.task.taskId });
      else {
        this.queue.push(queued);
        for (const wake of [...this.waitingWorkers]) wake();
      }
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(expire, this.ackWaitMs);
    };
    arm();
    const settle = (outcome: Outcome) => {
      clearTimeout(timer);
      // A lease that expired may still complete: its result is a late copy, counted like a redelivered one.
      settled = true;
      this.record(queued.task.taskId, outcome);
    };
    return {
      task: queued.task,
      attempt: queued.deliveries,
      heartbeat: () => {
        if (!settled) arm();
      },
      complete: async (result) => settle({ type: 'result', data: result }),
      fail: async (failure) => settle({ type: 'failure', data: failure }),
    };
  }
}

/** Creates an {@link InProcessTransport}. */
export function createInProcessTransport(
  options: InProcessTransportOptions = {},
): InProcessTransport {
  return new InProcessTransport(options);
}

function positiveInteger(argument: string, value: number): number {
  assertInteger(argument, value, 1);
  return value;
}
