import { describe, expect, it } from 'vitest';
import { createInProcessTransport } from './in-process-transport';
import { runRolloutWorker } from './rollout-worker';
import { tasksFor, trajectoryGroupFor } from './test-support/trajectory-group';

const policy = { version: 0, kind: 'full', bytes: new Uint8Array([1, 2, 3]) };

describe('InProcessTransport', () => {
  it('gives one result per task, in task order, from two workers', async () => {
    const transport = createInProcessTransport();
    await transport.publishPolicy(policy);
    const controller = new AbortController();
    const seen: string[] = [];
    const workers = ['w0', 'w1'].map((workerId) =>
      runRolloutWorker({
        source: transport.source(),
        workerId,
        signal: controller.signal,
        pollMs: 20,
        handler: async ({ task, policy: snapshot }) => {
          expect([...snapshot.bytes]).toEqual([1, 2, 3]);
          seen.push(task.taskId);
          await new Promise((resolve) => setTimeout(resolve, 5 * (task.groupIndex % 3)));
          return trajectoryGroupFor(task);
        },
      }),
    );
    const tasks = tasksFor(0, 8, 0);
    await transport.submit(tasks);
    await transport.submit(tasks); // a second submit of the same ids is not new work
    const report = await transport.collect({
      tasks,
      currentVersion: 0,
      maxPolicyLag: 0,
      timeoutMs: 5000,
    });
    controller.abort();
    const summaries = await Promise.all(workers);
    expect(report.results.map((result) => result.taskId)).toEqual(tasks.map((task) => task.taskId));
    expect(report.results.map((result) => result.group.trajectories[0]?.seed)).toEqual(
      tasks.map((task) => task.seed),
    );
    expect(new Set(report.results.map((result) => result.workerId))).toEqual(new Set(['w0', 'w1']));
    expect(seen.sort()).toEqual(tasks.map((task) => task.taskId).sort());
    expect(summaries.reduce((sum, summary) => sum + summary.completed, 0)).toBe(8);
    expect(report).toMatchObject({
      stale: [],
      failed: [],
      deadLettered: [],
      timedOut: [],
      duplicates: 0,
      rejected: [],
    });
    expect(transport.getPosition().resultsSequence).toBe(8);
  });

  it('hands an expired lease to another worker and counts the late copy as a duplicate', async () => {
    const transport = createInProcessTransport({ ackWaitMs: 60 });
    await transport.publishPolicy(policy);
    const controller = new AbortController();
    const attempts: number[] = [];
    const worker = (workerId: string) =>
      runRolloutWorker({
        source: transport.source(),
        workerId,
        signal: controller.signal,
        pollMs: 10,
        heartbeatMs: 10_000,
        handler: async ({ task, attempt }) => {
          attempts.push(attempt);
          // The first delivery stalls past the lease without a heartbeat.
          if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, 200));
          return trajectoryGroupFor(task);
        },
      });
    const running = [worker('slow'), worker('fast')];
    const tasks = tasksFor(1, 1, 0);
    await transport.submit(tasks);
    const report = await transport.collect({
      tasks,
      currentVersion: 0,
      maxPolicyLag: 0,
      timeoutMs: 5000,
    });
    expect(report.results).toHaveLength(1);
    expect(report.results[0]?.attempt).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const again = await transport.collect({
      tasks,
      currentVersion: 0,
      maxPolicyLag: 0,
      timeoutMs: 50,
    });
    controller.abort();
    await Promise.all(running);
    expect(attempts.sort()).toEqual([1, 2]);
    // The slow worker's late copy is stored beside the first and counted as a duplicate, never as a second result.
    expect(again.results).toHaveLength(1);
    expect(again.results[0]?.attempt).toBe(2);
    expect(again.duplicates).toBe(1);
  });

  it('keeps a heartbeaten lease past the ack wait', async () => {
    const transport = createInProcessTransport({ ackWaitMs: 50 });
    await transport.publishPolicy(policy);
    const controller = new AbortController();
    let deliveries = 0;
    const running = runRolloutWorker({
      source: transport.source(),
      workerId: 'w',
      signal: controller.signal,
      pollMs: 10,
      heartbeatMs: 20,
      handler: async ({ task }) => {
        deliveries++;
        await new Promise((resolve) => setTimeout(resolve, 200));
        return trajectoryGroupFor(task);
      },
    });
    const tasks = tasksFor(2, 1, 0);
    await transport.submit(tasks);
    const report = await transport.collect({
      tasks,
      currentVersion: 0,
      maxPolicyLag: 0,
      timeoutMs: 5000,
    });
    controller.abort();
    await running;
    expect(deliveries).toBe(1);
    expect(report.results[0]?.attempt).toBe(1);
  });

  it('dead-letters a task that never finishes after maxDeliver leases', async () => {
    const transport = createInProcessTransport({ ackWaitMs: 30, maxDeliver: 2 });
    await transport.publishPolicy(policy);
    const controller = new AbortController();
    let deliveries = 0;
    const hang = new Promise<never>(() => {});
    const workers = ['a', 'b', 'c'].map((workerId) =>
      runRolloutWorker({
        source: transport.source(),
        workerId,
        signal: controller.signal,
        pollMs: 10,
        heartbeatMs: 10_000,
        handler: async ({ task }) => {
          if (task.groupIndex === 0) {
            deliveries++;
            return hang;
          }
          return trajectoryGroupFor(task);
        },
      }),
    );
    const tasks = tasksFor(3, 3, 0);
    await transport.submit(tasks);
    const report = await transport.collect({
      tasks,
      currentVersion: 0,
      maxPolicyLag: 0,
      timeoutMs: 5000,
    });
    controller.abort();
    void workers;
    expect(report.deadLettered).toEqual(['s3-g0']);
    expect(deliveries).toBe(2);
    expect(report.results.map((result) => result.taskId)).toEqual(['s3-g1', 's3-g2']);
    expect(transport.getPosition().deadLetterSequence).toBe(1);
  });

  it('drops results older than the staleness bound, reports failures and rejects invalid results', async () => {
    const transport = createInProcessTransport();
    for (const version of [1, 5]) await transport.publishPolicy({ ...policy, version });
    const controller = new AbortController();
    const running = runRolloutWorker({
      source: transport.source(),
      workerId: 'w',
      signal: controller.signal,
      pollMs: 10,
      handler: async ({ task }) => {
        if (task.groupIndex === 1) throw new RangeError('the environment broke');
        // Task 2 lies about the version of its trajectories.
        return trajectoryGroupFor(
          task,
          task.groupIndex === 2 ? task.policyVersion + 1 : task.policyVersion,
        );
      },
    });
    const stale = tasksFor(4, 3, 1);
    const fresh = tasksFor(5, 1, 5);
    const tasks = [...stale, ...fresh];
    await transport.submit(tasks);
    const report = await transport.collect({
      tasks,
      currentVersion: 5,
      maxPolicyLag: 2,
      timeoutMs: 300,
    });
    controller.abort();
    await running;
    expect(report.results.map((result) => result.taskId)).toEqual(['s5-g0']);
    expect(report.stale.map((result) => result.taskId)).toEqual(['s4-g0']);
    expect(report.failed).toEqual([
      { taskId: 's4-g1', workerId: 'w', attempt: 1, error: 'RangeError: the environment broke' },
    ]);
    expect(report.rejected).toHaveLength(1);
    expect(report.rejected[0]?.reason).toMatch(
      /group\.trajectories\.0\.policyVersion: is 2, but the result says 1/,
    );
    expect(report.timedOut).toEqual(['s4-g2']);
  });

  it('names the bad option', () => {
    expect(() => createInProcessTransport({ maxDeliver: 0 })).toThrow(/maxDeliver.*0/);
  });
});
