import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { CohortError } from '@cohort/core';

const lockedMarker = 'cohort.error.trainer.run-locked';
const lockedSymbol = Symbol.for(lockedMarker);

/**
 * Another live process holds the run directory's lock: two `train` commands
 * (or two resumes) would otherwise append to the same files.
 */
export class RunLockedError extends CohortError {
  protected readonly [lockedSymbol] = true;
  readonly directory: string;
  readonly ownerPid: number;

  constructor(options: { directory: string; ownerPid: number; ownerHost: string }) {
    super({
      name: 'RunLockedError',
      message: `run directory ${options.directory} is in use by process ${options.ownerPid} on ${options.ownerHost} (lock file ${path.join(options.directory, lockFileName)}); wait for it to finish or stop it`,
    });
    this.directory = options.directory;
    this.ownerPid = options.ownerPid;
  }

  static override isInstance(error: unknown): error is RunLockedError {
    return CohortError.hasMarker(error, lockedMarker);
  }
}

/** The name of the lock file inside a run directory. */
export const lockFileName = 'run.lock';

/** A held lock on a run directory. */
export interface RunLock {
  readonly filePath: string;
  /** Removes the lock file (only if it is still this process's). */
  release(): Promise<void>;
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

function isAlive(pid: number): boolean {
  // kill(0 or a negative id) signals process groups, not one process.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(filePath: string): Promise<LockOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(filePath, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string')
      return { pid: parsed.pid, host: parsed.host, token: String(parsed.token ?? '') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  }
  // Unreadable: it cannot be a lock this code wrote, so it is stale.
  return { pid: -1, host: hostname(), token: '' };
}

/**
 * Takes the lock of a run directory: `run.lock` holding this process's id,
 * host and a random token, created atomically (written to a private file,
 * then hard-linked into place, which fails when the lock exists). A lock left
 * by a process that no longer runs on this host (a `kill -9`) is taken over;
 * a live owner makes it throw {@link RunLockedError}. A lock from another
 * host is never taken over (its process cannot be checked from here).
 *
 * @example
 * ```ts
 * const lock = await acquireRunLock('runs/20250101-120000-support');
 * try { await run.run(); } finally { await lock.release(); }
 * ```
 */
export async function acquireRunLock(directory: string): Promise<RunLock> {
  const filePath = path.join(directory, lockFileName);
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    token: `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  };
  const privatePath = `${filePath}.${owner.token}`;
  await writeFile(privatePath, JSON.stringify(owner));
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(privatePath, filePath);
        return {
          filePath,
          async release() {
            const current = await readOwner(filePath);
            if (current?.token === owner.token) await rm(filePath, { force: true });
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const current = await readOwner(filePath);
      if (current === undefined) continue;
      if (current.host !== owner.host || isAlive(current.pid)) {
        throw new RunLockedError({ directory, ownerPid: current.pid, ownerHost: current.host });
      }
      // Stale: move it aside (atomic; one contender wins), then check that what moved was the stale one.
      const aside = `${filePath}.stale-${owner.token}`;
      try {
        await rename(filePath, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const moved = await readOwner(aside);
      if (moved !== undefined && moved.token !== current.token) {
        // Another contender took the lock between our read and our rename: give it back.
        try {
          await link(aside, filePath);
        } catch {
          // A third contender holds it now; either way it is not ours.
        }
      }
      await rm(aside, { force: true });
    }
    const current = await readOwner(filePath);
    throw new RunLockedError({
      directory,
      ownerPid: current?.pid ?? -1,
      ownerHost: current?.host ?? owner.host,
    });
  } finally {
    await rm(privatePath, { force: true });
  }
}
