import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  acquireRunLock,
  type MetricsRecord,
  parseMetricsLog,
  type RunLock,
  RunLockedError,
  writeFileAtomic,
} from '@cohort/trainer';
import { UsageError } from './exit-codes';

/** The files of a run directory. */
export interface RunPaths {
  root: string;
  /** The config after presets and defaults, as the run used it. */
  config: string;
  /** One JSON line per step, evaluation, generation and event. */
  metrics: string;
  /** `step-NNNNNN/` folders written by the trainer. */
  checkpoints: string;
  /** Sample conversations from evaluations, one JSON line each. */
  samples: string;
  /** The self-contained HTML report. */
  report: string;
  /** The outcome of the run: evaluations before and after, steps, time. */
  summary: string;
  /** A LoRA run's final adapters in the PEFT layout (`adapter_config.json`, `adapter_model.safetensors`). */
  adapter: string;
}

/**
 * The paths inside a run directory.
 *
 * @example
 * ```ts
 * runPaths('runs/20250101-120000-support').metrics; // 'runs/20250101-120000-support/metrics.jsonl'
 * ```
 */
export function runPaths(root: string): RunPaths {
  return {
    root,
    config: path.join(root, 'config.resolved.json'),
    metrics: path.join(root, 'metrics.jsonl'),
    checkpoints: path.join(root, 'checkpoints'),
    samples: path.join(root, 'samples.jsonl'),
    report: path.join(root, 'report.html'),
    summary: path.join(root, 'summary.json'),
    adapter: path.join(root, 'adapter'),
  };
}

/**
 * The name of a new run directory: `<UTC timestamp>-<name>`, for example
 * `20250314-093015-support`, so runs sort by start time.
 */
export function runDirectoryName(name: string, date: Date): string {
  const iso = date.toISOString(); // 2025-03-14T09:30:15.123Z
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
  return `${stamp}-${name}`;
}

/**
 * Creates a new run directory under `root` (default `runs`), adding `-2`,
 * `-3`, ... when the name is taken (claimed with an atomic `mkdir`, so two
 * runs started at once never share one), and its `checkpoints/` folder.
 *
 * @example
 * ```ts
 * const paths = await createRunDirectory({ root: 'runs', name: 'support' });
 * ```
 */
export async function createRunDirectory(options: {
  root?: string;
  name: string;
  date?: Date;
  /** Use exactly this directory (it may exist, but must not hold a run yet). */
  directory?: string;
}): Promise<RunPaths> {
  let directory = options.directory;
  if (directory !== undefined) {
    if ((await exists(runPaths(directory).metrics)) || (await exists(runPaths(directory).config))) {
      throw new UsageError(
        `run directory ${directory} already holds a run; use --resume ${directory} to continue it`,
      );
    }
    await mkdir(directory, { recursive: true });
  } else {
    const root = options.root ?? 'runs';
    await mkdir(root, { recursive: true });
    const base = path.join(root, runDirectoryName(options.name, options.date ?? new Date()));
    // mkdir without `recursive` fails when the folder exists, atomically: of two runs started
    // in the same second with the same name, each gets its own folder.
    for (let suffix = 1; ; suffix++) {
      const candidate = suffix === 1 ? base : `${base}-${suffix}`;
      try {
        await mkdir(candidate);
        directory = candidate;
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }
  const paths = runPaths(directory);
  await mkdir(paths.checkpoints, { recursive: true });
  return paths;
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
 * The run directory of `train` or `gateway`, claimed from their flags:
 * `--resume`'s, or a new one (`--run-dir`, else a dated folder under
 * `--runs-root` named `--name` or the config's name), with the run's lock
 * held; a run already locked by a live process is a {@link UsageError}.
 * Release the lock when the run ends.
 *
 * @example
 * ```ts
 * const { paths, lock } = await claimRunDirectory({}, 'support');
 * try { ... } finally { await lock.release(); }
 * ```
 */
export async function claimRunDirectory(
  flags: {
    resume?: string | undefined;
    name?: string | undefined;
    runsRoot?: string | undefined;
    runDirectory?: string | undefined;
  },
  configName: string,
): Promise<{ paths: RunPaths; lock: RunLock }> {
  const paths = flags.resume
    ? runPaths(flags.resume)
    : await createRunDirectory({
        name: flags.name ?? configName,
        ...(flags.runsRoot ? { root: flags.runsRoot } : {}),
        ...(flags.runDirectory ? { directory: flags.runDirectory } : {}),
      });
  try {
    return { paths, lock: await acquireRunLock(paths.root) };
  } catch (error) {
    if (RunLockedError.isInstance(error)) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

/** Writes a JSON file atomically, pretty-printed, non-finite numbers as strings. */
export async function writeJsonAtomic(filePath: string, value: unknown): Promise<void> {
  await writeFileAtomic(filePath, `${JSON.stringify(value, replaceNonFinite, 2)}\n`);
}

function replaceNonFinite(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

/** A sample conversation as written to `samples.jsonl`. */
export interface SampleRecord {
  step: number;
  scenarioId: string;
  reward: number;
  endReason?: string;
  messages: { role: string; content: string }[];
}

/** What {@link readRun} finds in a run directory. */
export interface RunContents {
  paths: RunPaths;
  config: unknown;
  records: MetricsRecord[];
  samples: SampleRecord[];
  summary: unknown;
}

/**
 * Reads a run directory for the report: the resolved config, the metrics
 * log, the samples and the summary (the last three may be missing or empty).
 * A missing directory or config, or a broken line, throws {@link UsageError}
 * with one clear line.
 *
 * @example
 * ```ts
 * const { records } = await readRun('runs/20250101-120000-support');
 * ```
 */
export async function readRun(directory: string): Promise<RunContents> {
  const paths = runPaths(directory);
  if (!(await exists(directory))) throw new UsageError(`run directory not found: ${directory}`);
  const config = await readJsonFile(paths.config, 'the resolved config');
  const metricsText = await readOptional(paths.metrics);
  let records: MetricsRecord[];
  try {
    records = metricsText === undefined ? [] : parseMetricsLog(metricsText);
  } catch (error) {
    throw new UsageError(
      `${paths.metrics} has a line that is not JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const samplesText = (await readOptional(paths.samples)) ?? '';
  const samples: SampleRecord[] = [];
  for (const [index, line] of samplesText.split('\n').entries()) {
    if (line.trim() === '') continue;
    try {
      samples.push(JSON.parse(line) as SampleRecord);
    } catch (error) {
      throw new UsageError(`${paths.samples} line ${index + 1} is not JSON`, { cause: error });
    }
  }
  const summaryText = await readOptional(paths.summary);
  let summary: unknown;
  if (summaryText !== undefined) {
    try {
      summary = JSON.parse(summaryText);
    } catch (error) {
      throw new UsageError(`${paths.summary} is not JSON`, { cause: error });
    }
  }
  return { paths, config, records, samples, summary };
}

async function readOptional(filePath: string): Promise<string | undefined> {
  try {
    return await readFile(filePath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function readJsonFile(filePath: string, what: string): Promise<unknown> {
  const text = await readOptional(filePath);
  if (text === undefined)
    throw new UsageError(`${what} is missing: ${filePath} (is this a run directory?)`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} ${filePath} is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
