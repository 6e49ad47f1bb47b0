import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireRunLock, lockFileName, RunLockedError } from './run-lock';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cohort-run-lock-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The id of a process that has exited (and so holds nothing). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('acquireRunLock', () => {
  it('lets exactly one of many concurrent takers hold the lock, and frees it on release', async () => {
    const directory = path.join(root, 'concurrent');
    await (await import('node:fs/promises')).mkdir(directory);
    const attempts = await Promise.allSettled(
      Array.from({ length: 8 }, () => acquireRunLock(directory)),
    );
    const held = attempts.filter((attempt) => attempt.status === 'fulfilled');
    const refused = attempts.filter((attempt) => attempt.status === 'rejected');
    expect(held).toHaveLength(1);
    for (const attempt of refused) {
      expect(RunLockedError.isInstance(attempt.reason)).toBe(true);
      expect((attempt.reason as Error).message).toContain(`process ${process.pid}`);
      expect((attempt.reason as Error).message).toContain(directory);
    }
    await (
      held[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireRunLock>>>
    ).value.release();
    expect(await readdir(directory)).toEqual([]);
    const again = await acquireRunLock(directory);
    await again.release();
  });

  it('takes over a lock left by a process that no longer runs (kill -9), but never one of a live process or another host', async () => {
    const directory = path.join(root, 'stale');
    await (await import('node:fs/promises')).mkdir(directory);
    const lockPath = path.join(directory, lockFileName);
    await writeFile(lockPath, JSON.stringify({ pid: deadPid(), host: hostname(), token: 'old' }));
    const lock = await acquireRunLock(directory);
    await lock.release();

    await writeFile(
      lockPath,
      JSON.stringify({ pid: process.ppid, host: hostname(), token: 'live' }),
    );
    await expect(acquireRunLock(directory)).rejects.toSatisfy(
      (error) =>
        RunLockedError.isInstance(error) && (error as RunLockedError).ownerPid === process.ppid,
    );
    await writeFile(lockPath, JSON.stringify({ pid: deadPid(), host: 'elsewhere', token: 'far' }));
    await expect(acquireRunLock(directory)).rejects.toThrow(/on elsewhere/);
    // A damaged lock file cannot be one this code wrote: it is stale.
    await writeFile(lockPath, 'garbage');
    await (await acquireRunLock(directory)).release();
    expect(await readdir(directory)).toEqual([]);
  });
});
