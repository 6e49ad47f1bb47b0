import type { RolloutFailure, RolloutResult } from './rollout-records';
import { RolloutFailureSchema, RolloutResultSchema } from './rollout-records';
import type { CollectReport, CollectRequest } from './rollout-transport';

/**
 * Turns whatever arrives from the workers into exactly one outcome per task:
 * the first valid result or failure of a task counts, later copies are
 * counted as duplicates, results of another run's tasks are ignored, and
 * results older than the staleness bound are dropped and reported.
 *
 * Shared by every transport, so the accounting is the same in-process and
 * across machines.
 */
export class CollectAccumulator {
  private readonly open = new Set<string>();
  private readonly order: string[];
  private readonly results = new Map<string, RolloutResult>();
  private readonly report: Omit<CollectReport, 'results' | 'timedOut'> = {
    stale: [],
    failed: [],
    deadLettered: [],
    duplicates: 0,
    rejected: [],
  };
  private readonly oldestVersion: number;

  constructor(request: Pick<CollectRequest, 'tasks' | 'currentVersion' | 'maxPolicyLag'>) {
    this.order = request.tasks.map((task) => task.taskId);
    for (const taskId of this.order) this.open.add(taskId);
    this.oldestVersion = request.currentVersion - request.maxPolicyLag;
  }

  /** True when every task has an outcome. */
  get done(): boolean {
    return this.open.size === 0;
  }

  /** The task ids still without an outcome. */
  get pending(): string[] {
    return this.order.filter((taskId) => this.open.has(taskId));
  }

  /** Offers a result as received (unvalidated). Returns true when it closed a task. */
  offerResult(data: unknown): boolean {
    const parsed = RolloutResultSchema.safeParse(data);
    if (!parsed.success) {
      this.reject(
        data,
        parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
      );
      return false;
    }
    const result = parsed.data;
    if (!this.claim(result.taskId)) return false;
    if (result.policyVersion < this.oldestVersion) this.report.stale.push(result);
    else this.results.set(result.taskId, result);
    return true;
  }

  /** Offers a failure report as received (unvalidated). Returns true when it closed a task. */
  offerFailure(data: unknown): boolean {
    const parsed = RolloutFailureSchema.safeParse(data);
    if (!parsed.success) {
      this.reject(
        data,
        parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
      );
      return false;
    }
    if (!this.claim(parsed.data.taskId)) return false;
    this.report.failed.push(parsed.data satisfies RolloutFailure);
    return true;
  }

  /** Marks a task as given up by the transport after its last delivery. */
  deadLetter(taskId: string): boolean {
    if (!this.claim(taskId)) return false;
    this.report.deadLettered.push(taskId);
    return true;
  }

  /** The report, with every task still open listed as timed out. */
  finish(): CollectReport {
    const results = this.order.flatMap((taskId) => {
      const result = this.results.get(taskId);
      return result === undefined ? [] : [result];
    });
    return { ...this.report, results, timedOut: this.pending };
  }

  private claim(taskId: string): boolean {
    if (this.open.delete(taskId)) return true;
    if (this.order.includes(taskId)) this.report.duplicates++;
    return false;
  }

  private reject(data: unknown, reasons: string[]): void {
    const taskId =
      data !== null &&
      typeof data === 'object' &&
      typeof (data as { taskId?: unknown }).taskId === 'string'
        ? (data as { taskId: string }).taskId
        : '(unknown)';
    this.report.rejected.push({ taskId, reason: reasons.join('; ') });
  }
}
