import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CheckpointError, type RandomState } from '@cohort/core';
import { z } from 'zod';
import type { OptimizerState } from './optimizer';
import type { WeightMap } from './weights';

/** What {@link saveCheckpoint} writes and {@link loadCheckpoint} returns. */
export interface CheckpointContents {
  weights: WeightMap;
  optimizerState?: OptimizerState;
  rngState?: RandomState;
  /** Any JSON-serializable data, for example `{ config, episode }`. */
  metadata?: Record<string, unknown>;
}

/** What {@link loadCheckpoint} must find, or refuse the checkpoint. */
export interface CheckpointExpectation {
  /** Exact set of weight names with their shapes (a {@link WeightMap} works too). */
  weights?: Record<string, number[] | { shape: number[] }>;
  /** Each listed metadata key must be present with a deeply equal value (for example `{ config }`). */
  metadata?: Record<string, unknown>;
}

const manifestName = 'manifest.json';
const formatName = 'cohort-tfjs-checkpoint';

const TensorEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
});

const ManifestSchema = z.object({
  format: z.literal(formatName),
  version: z.literal(1),
  files: z.record(
    z.string(),
    z.object({ sha256: z.string().length(64), bytes: z.number().int().nonnegative() }),
  ),
  weights: z.array(TensorEntrySchema),
  optimizer: z
    .object({ step: z.number().int().nonnegative(), tensors: z.array(TensorEntrySchema) })
    .nullable(),
});

type TensorEntry = z.infer<typeof TensorEntrySchema>;

const StateSchema = z.object({
  rngState: z.unknown().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function packTensors(tensors: { name: string; shape: number[]; data: Float32Array }[]): {
  bytes: Uint8Array;
  entries: TensorEntry[];
} {
  const total = tensors.reduce((sum, tensor) => sum + tensor.data.length, 0);
  const packed = new Float32Array(total);
  const entries: TensorEntry[] = [];
  let cursor = 0;
  for (const { name, shape, data } of tensors) {
    packed.set(data, cursor);
    entries.push({ name, shape: [...shape], offset: cursor * 4, length: data.length });
    cursor += data.length;
  }
  return { bytes: new Uint8Array(packed.buffer), entries };
}

function unpackTensor(
  bytes: Uint8Array,
  entry: TensorEntry,
  file: string,
  checkpointPath: string,
): Float32Array {
  const size = entry.shape.reduce((product, dimension) => product * dimension, 1);
  if (
    size !== entry.length ||
    entry.offset % 4 !== 0 ||
    entry.offset + entry.length * 4 > bytes.byteLength
  ) {
    throw new CheckpointError({
      path: path.join(checkpointPath, file),
      message: `tensor "${entry.name}" lies outside the file or disagrees with its shape [${entry.shape.join(', ')}]`,
    });
  }
  // Copy into a fresh, aligned buffer: a Node Buffer is a view into a shared pool at any byte offset.
  const start = bytes.byteOffset + entry.offset;
  return new Float32Array(bytes.buffer.slice(start, start + entry.length * 4));
}

async function writeDurably(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await fs.open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the renames are still atomic there.
  }
}

let temporaryCounter = 0;

/**
 * Writes a checkpoint directory atomically: everything goes to a sibling
 * temporary directory, each file is fsynced, and the directory is renamed into
 * place (replacing an older checkpoint of the same name), so a crash leaves
 * either the old checkpoint or the new one, never a mixture.
 *
 * Layout: `weights.bin` and `optimizer.bin` (little-endian float32, tensors
 * back to back), `state.json` (RNG state and metadata), and `manifest.json`
 * (format version, tensor names, shapes and byte offsets, and the size and
 * SHA-256 of every other file).
 *
 * @example
 * ```ts
 * await saveCheckpoint('runs/a/step-100', { weights: model.getWeights(), optimizerState: optimizer.getState(), rngState: random.getState(), metadata: { config: model.config, step: 100 } });
 * ```
 */
export async function saveCheckpoint(
  directory: string,
  contents: CheckpointContents,
): Promise<void> {
  const target = path.resolve(directory);
  const parent = path.dirname(target);
  await fs.mkdir(parent, { recursive: true });
  const temporary = `${target}.tmp-${process.pid}-${Date.now()}-${temporaryCounter++}`;
  await fs.mkdir(temporary);
  try {
    const files: Record<string, { sha256: string; bytes: number }> = {};
    const write = async (name: string, data: Uint8Array): Promise<void> => {
      await writeDurably(path.join(temporary, name), data);
      files[name] = { sha256: sha256(data), bytes: data.byteLength };
    };
    const weights = packTensors(
      Object.entries(contents.weights).map(([name, tensor]) => ({ name, ...tensor })),
    );
    await write('weights.bin', weights.bytes);
    let optimizer: z.infer<typeof ManifestSchema>['optimizer'] = null;
    if (contents.optimizerState) {
      const moments = Object.entries(contents.optimizerState.moments).flatMap(([key, moment]) => [
        { name: `${key}#first`, shape: moment.shape, data: moment.firstMoment },
        { name: `${key}#second`, shape: moment.shape, data: moment.secondMoment },
      ]);
      const packed = packTensors(moments);
      await write('optimizer.bin', packed.bytes);
      optimizer = { step: contents.optimizerState.step, tensors: packed.entries };
    }
    const state = JSON.stringify({
      rngState: contents.rngState,
      metadata: contents.metadata ?? {},
    });
    await write('state.json', new TextEncoder().encode(state));
    const manifest = { format: formatName, version: 1, files, weights: weights.entries, optimizer };
    await writeDurably(path.join(temporary, manifestName), JSON.stringify(manifest, null, 2));
    await syncDirectory(temporary);
    const previous = `${target}.old-${process.pid}-${Date.now()}-${temporaryCounter++}`;
    let moved = false;
    try {
      await fs.rename(target, previous);
      moved = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await fs.rename(temporary, target);
    await syncDirectory(parent);
    if (moved) await fs.rm(previous, { recursive: true, force: true });
  } catch (error) {
    await fs.rm(temporary, { recursive: true, force: true });
    throw new CheckpointError({
      path: target,
      message: `could not write the checkpoint: ${(error as Error).message}`,
      cause: error,
    });
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}, refusing it with a
 * `CheckpointError` that names the file when anything is wrong: a missing or
 * unreadable file, a size or SHA-256 that differs from the manifest (truncated
 * or damaged), or weights or metadata that differ from `expect`.
 *
 * @example
 * ```ts
 * const { weights, optimizerState, rngState } = await loadCheckpoint('runs/a/step-100', { expect: { weights: model.getWeights(), metadata: { config: model.config } } });
 * model.setWeights(weights);
 * ```
 */
export async function loadCheckpoint(
  directory: string,
  options: { expect?: CheckpointExpectation } = {},
): Promise<CheckpointContents> {
  const root = path.resolve(directory);
  const fail = (file: string, message: string, cause?: unknown): never => {
    throw new CheckpointError({
      path: path.join(root, file),
      message,
      ...(cause === undefined ? {} : { cause }),
    });
  };
  let manifestText: string;
  try {
    manifestText = await fs.readFile(path.join(root, manifestName), 'utf8');
  } catch (error) {
    return fail(
      manifestName,
      'cannot read the manifest (not a checkpoint, or an interrupted write)',
      error,
    );
  }
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(manifestText);
  } catch (error) {
    return fail(manifestName, 'the manifest is not valid JSON (damaged)', error);
  }
  const parsedManifest = ManifestSchema.safeParse(manifestJson);
  if (!parsedManifest.success) {
    return fail(
      manifestName,
      `the manifest does not match format ${formatName} v1: ${parsedManifest.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
  }
  const manifest = parsedManifest.data;
  const required = ['weights.bin', 'state.json', ...(manifest.optimizer ? ['optimizer.bin'] : [])];
  const contents = new Map<string, Uint8Array>();
  for (const file of required) {
    const expected = manifest.files[file];
    if (expected === undefined) return fail(manifestName, `lists no entry for ${file}`);
    let data: Uint8Array;
    try {
      data = await fs.readFile(path.join(root, file));
    } catch (error) {
      return fail(file, 'is missing or unreadable', error);
    }
    if (data.byteLength !== expected.bytes) {
      fail(
        file,
        `has ${data.byteLength} bytes, the manifest says ${expected.bytes} (truncated or damaged)`,
      );
    }
    if (sha256(data) !== expected.sha256) fail(file, 'SHA-256 differs from the manifest (damaged)');
    contents.set(file, data);
  }
  const weightBytes = contents.get('weights.bin') as Uint8Array;
  const weights: WeightMap = {};
  for (const entry of manifest.weights) {
    weights[entry.name] = {
      shape: entry.shape,
      data: unpackTensor(weightBytes, entry, 'weights.bin', root),
    };
  }
  let optimizerState: OptimizerState | undefined;
  if (manifest.optimizer) {
    const bytes = contents.get('optimizer.bin') as Uint8Array;
    const moments: OptimizerState['moments'] = {};
    for (const entry of manifest.optimizer.tensors) {
      const separator = entry.name.lastIndexOf('#');
      const key = entry.name.slice(0, separator);
      const which = entry.name.slice(separator + 1);
      const data = unpackTensor(bytes, entry, 'optimizer.bin', root);
      const moment = moments[key] ?? {
        shape: entry.shape,
        firstMoment: new Float32Array(0),
        secondMoment: new Float32Array(0),
      };
      if (which === 'first') moment.firstMoment = data;
      else if (which === 'second') moment.secondMoment = data;
      else fail(manifestName, `unknown optimizer tensor "${entry.name}"`);
      moments[key] = moment;
    }
    optimizerState = { step: manifest.optimizer.step, moments };
  }
  let state: z.infer<typeof StateSchema>;
  try {
    state = StateSchema.parse(JSON.parse(new TextDecoder().decode(contents.get('state.json'))));
  } catch (error) {
    return fail('state.json', 'is not a valid state object', error);
  }
  const expect = options.expect;
  if (expect?.weights) {
    for (const [name, expected] of Object.entries(expect.weights)) {
      const shape = Array.isArray(expected) ? expected : expected.shape;
      const found = weights[name];
      if (found === undefined) fail('weights.bin', `has no tensor "${name}" (mismatched model)`);
      else if (found.shape.join(',') !== shape.join(',')) {
        fail(
          'weights.bin',
          `tensor "${name}" has shape [${found.shape.join(', ')}], expected [${shape.join(', ')}] (mismatched model)`,
        );
      }
    }
    for (const name of Object.keys(weights)) {
      if (!(name in expect.weights))
        fail('weights.bin', `has unexpected tensor "${name}" (mismatched model)`);
    }
  }
  if (expect?.metadata) {
    for (const [key, value] of Object.entries(expect.metadata)) {
      const found = state.metadata?.[key];
      if (canonical(found) !== canonical(value)) {
        fail(
          'state.json',
          `metadata "${key}" is ${canonical(found)}, expected ${canonical(value)} (mismatched checkpoint)`,
        );
      }
    }
  }
  return {
    weights,
    ...(optimizerState ? { optimizerState } : {}),
    ...(state.rngState !== undefined ? { rngState: state.rngState as RandomState } : {}),
    metadata: state.metadata ?? {},
  };
}
