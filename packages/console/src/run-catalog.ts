import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from '@cohort/core';

/** The files of a run directory that the console reads (it never executes anything there). */
export const runFileNames = {
  config: 'config.resolved.json',
  metrics: 'metrics.jsonl',
  samples: 'samples.jsonl',
  trajectories: 'trajectories.jsonl',
  summary: 'summary.json',
  feedback: 'feedback.jsonl',
} as const;

/** A run the console serves, under a short id that is safe in a URL. */
export interface CatalogRun {
  id: string;
  /** The directory's own name, for display. */
  name: string;
  directory: string;
}

async function isDirectory(target: string): Promise<boolean> {
  try {
    return (await stat(target)).isDirectory();
  } catch {
    return false;
  }
}

async function looksLikeRun(directory: string): Promise<boolean> {
  for (const name of Object.values(runFileNames)) {
    try {
      await stat(path.join(directory, name));
      return true;
    } catch {}
  }
  return false;
}

/**
 * Resolves the directories given to the console into runs: a run directory
 * (it holds a config, metrics, samples or feedback) is one run; a directory
 * of run directories (such as `runs/`) is each run inside it. Anything else
 * throws {@link InvalidArgumentError} naming the argument and the path.
 * Ids are the directory names, made unique with `-2`, `-3`, ...
 *
 * @example
 * ```ts
 * const runs = await resolveRuns(['runs']); // [{ id: '20250101-120000-support', ... }, ...]
 * ```
 */
export async function resolveRuns(
  directories: readonly string[],
  options: { allowEmpty?: boolean } = {},
): Promise<CatalogRun[]> {
  const found: string[] = [];
  for (const [index, given] of directories.entries()) {
    const argument = `runDirectories[${index}]`;
    if (typeof given !== 'string' || given === '') {
      throw new InvalidArgumentError({ argument, value: given, message: 'must be a path' });
    }
    const directory = path.resolve(given);
    if (!(await isDirectory(directory))) {
      throw new InvalidArgumentError({
        argument,
        value: given,
        message: 'is not a directory',
      });
    }
    if (options.allowEmpty || (await looksLikeRun(directory))) {
      found.push(directory);
      continue;
    }
    const children: string[] = [];
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      const child = path.join(directory, entry.name);
      if (entry.isDirectory() && (await looksLikeRun(child))) children.push(child);
    }
    if (children.length === 0) {
      throw new InvalidArgumentError({
        argument,
        value: given,
        message: `is not a run directory (no ${Object.values(runFileNames).join(', ')}) and holds none`,
      });
    }
    found.push(...children.sort());
  }
  const runs: CatalogRun[] = [];
  const used = new Set<string>();
  for (const directory of found) {
    if (runs.some((run) => run.directory === directory)) continue;
    const name = path.basename(directory);
    const base = name.replace(/[^A-Za-z0-9._-]/g, '_') || 'run';
    let id = base;
    for (let suffix = 2; used.has(id); suffix++) id = `${base}-${suffix}`;
    used.add(id);
    runs.push({ id, name, directory });
  }
  return runs;
}

/** Reads one of a run's known files; undefined when it does not exist. */
export async function readRunFile(
  run: CatalogRun,
  file: keyof typeof runFileNames,
): Promise<string | undefined> {
  try {
    return await readFile(path.join(run.directory, runFileNames[file]), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Parses JSON lines, turning a line that is not JSON into an `unreadable-line` record. */
export function parseJsonLines(text: string): unknown[] {
  const records: unknown[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line));
    } catch (error) {
      // The last line may still be being written.
      if (index === lines.length - 1) continue;
      records.push({ kind: 'unreadable-line', line: line.slice(0, 200), error: String(error) });
    }
  }
  return records;
}
