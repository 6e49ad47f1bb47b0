import type { PolicySnapshot, RolloutFailure, RolloutResult, RolloutTask } from './rollout-records';

/** What the learner asks {@link RolloutTransport.collect} for. */
export interface CollectRequest {
  /** The tasks whose results to wait for, as submitted. */
  tasks: readonly RolloutTask[];
  /** The learner's current policy version. */
  currentVersion: number;
  /**
   * Results sampled by a version older than `currentVersion - maxPolicyLag`
   * are dropped and reported in `stale`; `Infinity` keeps every result.
   */
  maxPolicyLag: number;
  /** Give up on the tasks still open after this long, reporting them in `timedOut`. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * What {@link RolloutTransport.collect} gives back: exactly one outcome per
 * task id, so every task is counted once in the trained data however often it
 * was delivered.
 */
export interface CollectReport {
  /** One result per task that finished in time and within the staleness bound, in the order of `tasks`. */
  results: RolloutResult[];
  /** Results of a version older than the bound: dropped, not trained on. */
  stale: RolloutResult[];
  /** Tasks whose handler threw (the worker reported it). */
  failed: RolloutFailure[];
  /** Tasks handed out the maximum number of times without a result (a poisoned task): given up. */
  deadLettered: string[];
  /** Tasks still without an outcome when `timeoutMs` ran out. */
  timedOut: string[];
  /** Extra copies of a result that arrived for a task already counted (ignored). */
  duplicates: number;
  /** Results that failed validation (ignored), with the reason. */
  rejected: { taskId: string; reason: string }[];
}

/** Where the learner's checkpoint records the transport's stream positions. */
export interface TransportPosition {
  /** Last result-stream sequence the learner has read (0 = none). */
  resultsSequence: number;
  /** Last dead-letter sequence the learner has read (0 = none). */
  deadLetterSequence: number;
}

/**
 * The learner's side of a rollout transport: tasks out, trajectory groups
 * back, policy versions published for the workers.
 *
 * Implementations: {@link createInProcessTransport} (the default, today's
 * behaviour) and `createNatsTransport` (NATS JetStream, across processes and
 * machines).
 */
export interface RolloutTransport {
  readonly kind: string;
  /** Makes a policy version available to the workers; each worker fetches it once. */
  publishPolicy(snapshot: PolicySnapshot): Promise<void>;
  /** Sends tasks out. A task whose id was already submitted (and is pending or done) is not sent again. */
  submit(tasks: readonly RolloutTask[]): Promise<void>;
  /** Waits for one outcome per task. */
  collect(request: CollectRequest): Promise<CollectReport>;
  /** Stream positions, for the learner's checkpoint. */
  getPosition(): TransportPosition;
  /** Restores positions from a checkpoint. */
  setPosition(position: TransportPosition): void;
  close(): Promise<void>;
}

/** A task handed to a worker, until it completes, fails or its lease runs out. */
export interface TaskLease {
  readonly task: RolloutTask;
  /** 1 on the first delivery, then 2, 3, ... on redeliveries. */
  readonly attempt: number;
  /** Tells the transport the task is still being worked on, so it is not handed to another worker. */
  heartbeat(): void;
  /** Stores the result, then acknowledges the task (never the other way round). */
  complete(result: RolloutResult): Promise<void>;
  /** Reports the handler's error and acknowledges the task, which is not retried. */
  fail(failure: RolloutFailure): Promise<void>;
}

/** The worker's side of a rollout transport. */
export interface RolloutTaskSource {
  readonly kind: string;
  /** The next task, or null when none came within `waitMs`. */
  next(options: { waitMs: number }): Promise<TaskLease | null>;
  /** The weights of a policy version (fetched once per version, then cached). */
  policy(version: number): Promise<PolicySnapshot>;
  close(): Promise<void>;
}
