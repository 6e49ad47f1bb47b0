import { createInProcessTransport } from '@cohort/transport';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from './command-line';
import { UsageError } from './exit-codes';
import { DeferredRolloutTransport, natsRunIdFor } from './rollout-workers';

describe('the rollout worker flags', () => {
  it('parses worker and train --workers / --nats / --rollouts', () => {
    expect(
      parseCommandLine([
        'worker',
        '--nats',
        'nats://10.0.0.5:4222',
        '--run-id',
        'support-1',
        '--config',
        'run.yaml',
      ]),
    ).toMatchObject({
      command: 'worker',
      nats: 'nats://10.0.0.5:4222',
      runId: 'support-1',
      config: 'run.yaml',
      waitSeconds: 120,
      trustRunModules: false,
    });
    expect(
      parseCommandLine(['train', '--workers', '2', '--rollouts', 'asynchronous']),
    ).toMatchObject({
      command: 'train',
      workers: 2,
      rollouts: 'asynchronous',
    });
    expect(parseCommandLine(['train', '--nats', 'learner:4222'])).toMatchObject({
      nats: 'learner:4222',
    });
  });

  it('refuses bad values and settings that would do nothing, naming the flag', () => {
    expect(() => parseCommandLine(['worker', '--run-id', 'r'])).toThrow(/--nats URL/);
    expect(() => parseCommandLine(['worker', '--nats', 'nats://h:1'])).toThrow(/--run-id ID/);
    expect(() => parseCommandLine(['worker', '--nats', 'nats://h:1', '--run-id', 'a.b'])).toThrow(
      /--run-id must be 1-64 letters, digits, - and _, got "a.b"/,
    );
    expect(() => parseCommandLine(['train', '--nats', 'http://x'])).toThrow(
      /--nats must be a NATS server URL/,
    );
    expect(() => parseCommandLine(['train', '--workers', '65'])).toThrow(
      /--workers must be an integer in \[0, 64\], got "65"/,
    );
    expect(() => parseCommandLine(['train', '--rollouts', 'asynchronous'])).toThrow(UsageError);
    expect(() => parseCommandLine(['train', '--rollouts', 'asynchronous'])).toThrow(
      /--rollouts asynchronous needs --workers N or --nats URL/,
    );
  });
});

describe('natsRunIdFor', () => {
  it("is the run directory's name with what NATS names cannot hold replaced", () => {
    expect(natsRunIdFor('runs/20261201-140000-support')).toBe('20261201-140000-support');
    expect(natsRunIdFor('/tmp/my run.v2/')).toBe('my_run_v2');
    expect(natsRunIdFor(`runs/${'x'.repeat(80)}`)).toHaveLength(64);
  });
});

describe('DeferredRolloutTransport', () => {
  it('keeps a position set before the target is attached, then forwards everything', async () => {
    const deferred = new DeferredRolloutTransport();
    await expect(deferred.submit([])).rejects.toThrow(/before the workers were started/);
    deferred.setPosition({ resultsSequence: 7, deadLetterSequence: 2 });
    expect(deferred.getPosition()).toEqual({ resultsSequence: 7, deadLetterSequence: 2 });
    const target = createInProcessTransport();
    deferred.attach(target);
    expect(target.getPosition()).toEqual({ resultsSequence: 7, deadLetterSequence: 2 });
    const task = {
      taskId: 't0',
      step: 0,
      scenarioId: 's',
      seed: 1,
      groupIndex: 0,
      groupSize: 1,
      policyVersion: 0,
    };
    await deferred.submit([task]);
    const lease = await target.source().next({ waitMs: 100 });
    expect(lease?.task).toEqual(task);
    await lease!.fail({ taskId: 't0', workerId: 'w', attempt: 1, error: 'boom' });
    const report = await deferred.collect({
      tasks: [task],
      currentVersion: 0,
      maxPolicyLag: 0,
      timeoutMs: 1000,
    });
    expect(report.failed).toHaveLength(1);
    expect(deferred.getPosition()).toEqual({ resultsSequence: 8, deadLetterSequence: 2 });
  });
});
