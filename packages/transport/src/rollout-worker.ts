import type { TrajectoryGroup } from '@cohort/core';
import type { PolicySnapshot, RolloutTask } from './rollout-records';
import type { RolloutTaskSource } from './rollout-transport';

/** What a worker's handler gets for one task. */
export interface RolloutHandlerInput {
  task: RolloutTask;
  /** The weights of `task.policyVersion`. */
  policy: PolicySnapshot;
  /** 1 on the first delivery of the task. */
  attempt: number;
  /**
   * Keeps the lease alive. The worker also calls it on a timer, but a timer
   * does not fire while inference blocks the event loop, so long episodes
   * should call it between turns.
   */
  heartbeat: () => void;
  signal: AbortSignal;
}

/** Runs the episodes of one task and returns their trajectory group. */
export type RolloutHandler = (input: RolloutHandlerInput) => Promise<TrajectoryGroup>;

/** Options of {@link runRolloutWorker}. */
export interface RolloutWorkerOptions {
  source: RolloutTaskSource;
  workerId: string;
  handler: RolloutHandler;
  /** Stops the loop (after the task in hand). */
  signal?: AbortSignal;
  /** How long one poll for a task waits. Default 1000 ms. */
  pollMs?: number;
  /** How often the timer heartbeats a lease. Default 5000 ms. */
  heartbeatMs?: number;
  /** Called after each task, for progress and logs. */
  onTask?: (event: {
    taskId: string;
    outcome: 'completed' | 'failed' | 'unstored';
    attempt: number;
    error?: string;
  }) => void;
}

/** What {@link runRolloutWorker} did before it stopped. */
export interface RolloutWorkerSummary {
  completed: number;
  failed: number;
  /** Outcomes the transport could not store (the task is handed out again). */
  unstored: number;
}

/**
 * The worker loop: pull a task, fetch its policy version (cached by the
 * source), run the handler with heartbeats, store the result and only then
 * acknowledge the task. A handler that throws is reported as a failure of that
 * task; the loop goes on.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * await runRolloutWorker({ source, workerId: 'worker-1', handler, signal: controller.signal });
 * ```
 */
export async function runRolloutWorker(
  options: RolloutWorkerOptions,
): Promise<RolloutWorkerSummary> {
  const { source, workerId, handler, signal, onTask } = options;
  const pollMs = options.pollMs ?? 1000;
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const summary: RolloutWorkerSummary = { completed: 0, failed: 0, unstored: 0 };
  const controller = new AbortController();
  const stop = () => controller.abort();
  signal?.addEventListener('abort', stop, { once: true });
  if (signal?.aborted) stop();
  try {
    while (!controller.signal.aborted) {
      const lease = await source.next({ waitMs: pollMs });
      if (lease === null) continue;
      const { task, attempt } = lease;
      const timer = setInterval(() => lease.heartbeat(), heartbeatMs);
      let outcome: { group: TrajectoryGroup } | { error: string };
      try {
        const policy = await source.policy(task.policyVersion);
        outcome = {
          group: await handler({
            task,
            policy,
            attempt,
            heartbeat: () => lease.heartbeat(),
            signal: controller.signal,
          }),
        };
      } catch (error) {
        outcome = {
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        };
      } finally {
        clearInterval(timer);
      }
      try {
        if ('group' in outcome) {
          await lease.complete({
            taskId: task.taskId,
            workerId,
            policyVersion: task.policyVersion,
            attempt,
            group: outcome.group,
          });
          summary.completed++;
          onTask?.({ taskId: task.taskId, outcome: 'completed', attempt });
        } else {
          await lease.fail({ taskId: task.taskId, workerId, attempt, error: outcome.error });
          summary.failed++;
          onTask?.({ taskId: task.taskId, outcome: 'failed', attempt, error: outcome.error });
        }
      } catch (error) {
        // The outcome could not be stored: the task stays unacknowledged and is handed out again.
        summary.unstored++;
        onTask?.({ taskId: task.taskId, outcome: 'unstored', attempt, error: String(error) });
      }
    }
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  return summary;
}
