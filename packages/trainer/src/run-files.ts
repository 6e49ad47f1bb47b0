import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '@cohort/tfjs/node';

const temporaryPattern = /^(step-\d{6,})\.(tmp|old)-\d+-\d+-\d+$/;

/**
 * Cleans up after a checkpoint write that a crash interrupted (`kill -9`
 * between the temporary folder and its rename): removes every
 * `step-N.tmp-PID-*` folder, and puts back a `step-N.old-PID-*` folder whose
 * replacement never arrived (else removes it). Call it only while holding the
 * run's lock, so that no live writer's temporary folder is touched.
 * Returns the names it removed or restored.
 *
 * @example
 * ```ts
 * await removeStaleCheckpointTemporaries('runs/a/checkpoints'); // ['step-000010.tmp-4242-1733000000000-0']
 * ```
 */
export async function removeStaleCheckpointTemporaries(directory: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const touched: string[] = [];
  for (const name of names.sort()) {
    const match = temporaryPattern.exec(name);
    if (!match) continue;
    const full = path.join(directory, name);
    const target = path.join(directory, match[1]!);
    if (match[2] === 'old' && !(await exists(target))) {
      await rename(full, target);
    } else {
      await rm(full, { recursive: true, force: true });
    }
    touched.push(name);
  }
  return touched;
}

const temporaryFilePattern =
  /^.+\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/** The private and moved-aside files of `acquireRunLock`, which a crash during it can leave. */
const lockLeftoverPattern = /^run\.lock\.(stale-)?\d+-\d+-[a-z0-9]+$/;

/**
 * Removes what a crash left half-written in a run directory: the temporary
 * files of {@link writeFileAtomic} (`metrics.jsonl.<uuid>.tmp`, ...) at its
 * top level, and, through {@link removeStaleCheckpointTemporaries}, the
 * temporary checkpoint folders under `checkpoints/`. Call it only while
 * holding the run's lock. Returns the paths it removed or restored, relative
 * to `runDirectory`.
 *
 * @example
 * ```ts
 * await removeStaleTemporaries('runs/a');
 * ```
 */
export async function removeStaleTemporaries(runDirectory: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(runDirectory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names.sort()) {
    if (!temporaryFilePattern.test(name) && !lockLeftoverPattern.test(name)) continue;
    await rm(path.join(runDirectory, name), { force: true });
    removed.push(name);
  }
  const checkpoints = await removeStaleCheckpointTemporaries(
    path.join(runDirectory, 'checkpoints'),
  );
  return [...removed, ...checkpoints.map((name) => path.join('checkpoints', name))];
}

async function exists(target: string): Promise<boolean> {
  try {
    await stat(target);
    return true;
  } catch {
    return false;
  }
}

/**
 * Rewrites a JSON-lines file keeping only the records `keep` accepts
 * (atomically: a crash leaves the old file or the new one). A last line cut
 * short by a crash is dropped; a broken line before the last is an error that
 * names the file and the line. A missing file is left missing.
 * Returns how many lines were dropped.
 *
 * @example
 * ```ts
 * await truncateJsonLines('runs/a/metrics.jsonl', (record) => record.step <= 10);
 * ```
 */
export async function truncateJsonLines(
  filePath: string,
  keep: (record: { step?: unknown }) => boolean,
): Promise<number> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const lines = text.split('\n').filter((line) => line.trim().length > 0);
  const kept: string[] = [];
  for (const [index, line] of lines.entries()) {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      if (index === lines.length - 1 && !text.endsWith('\n')) continue;
      throw new SyntaxError(`${filePath} line ${index + 1} is not JSON`, { cause: error });
    }
    if (record !== null && typeof record === 'object' && keep(record as { step?: unknown }))
      kept.push(line);
  }
  if (kept.length === lines.length && (text.length === 0 || text.endsWith('\n'))) return 0;
  await writeFileAtomic(filePath, kept.map((line) => `${line}\n`).join(''));
  return lines.length - kept.length;
}

const stepCheckpointPattern = /^step-(\d{6,})$/;

/**
 * The `step-NNNNNN` checkpoint folders of a `checkpoints/` directory, oldest
 * first (none when it does not exist); what every run resumes from and prunes.
 *
 * @example
 * ```ts
 * (await listStepCheckpoints('runs/a/checkpoints')).at(-1); // { step: 20, directory: 'runs/a/checkpoints/step-000020' }
 * ```
 */
export async function listStepCheckpoints(
  directory: string,
): Promise<{ step: number; directory: string }[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, match: stepCheckpointPattern.exec(name) }))
    .filter((entry) => entry.match !== null)
    .map((entry) => ({
      step: Number(entry.match![1]),
      directory: path.join(directory, entry.name),
    }))
    .sort((a, b) => a.step - b.step);
}
