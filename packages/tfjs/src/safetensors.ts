import { CheckpointError, InvalidArgumentError } from '@cohort/core';
import { floatToBfloat16Bits, floatToHalfBits } from './half-precision';
import type { WeightMap, WeightTensor } from './weights';

/** Element types that {@link readSafetensors} decodes (all into float32). */
export type SafetensorsFloatType = 'F32' | 'F16' | 'BF16' | 'F64';

const bytesPerElement: Record<SafetensorsFloatType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** Contents of a safetensors file: float32 weights and the free-form `__metadata__` strings. */
export interface SafetensorsContents {
  weights: WeightMap;
  metadata: Record<string, string>;
}

/** Options of {@link writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /**
   * Element type written: `'F32'` (default), or `'BF16'` / `'F16'`, rounded to
   * nearest even (the form in which Hugging Face checkpoints are shipped).
   */
  dtype?: 'F32' | 'F16' | 'BF16';
}

/** Options of {@link readSafetensors}. */
export interface ReadSafetensorsOptions {
  /** Where the bytes came from, named in errors. Default `"safetensors bytes"`. */
  source?: string;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const metadataKey = '__metadata__';
/** Upper bound of the JSON header, as in the reference implementation (100 MB). */
const maximumHeaderBytes = 100_000_000;
const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const size of shape) count *= size;
  return count;
}

/**
 * Serializes float32 weights into the safetensors format
 * (https://huggingface.co/docs/safetensors, "Format"): an 8-byte little-endian
 * unsigned header length `N`, an `N`-byte UTF-8 JSON header mapping each name
 * to `{ dtype: "F32", shape, data_offsets: [begin, end] }` (byte offsets into
 * the data that follows) plus an optional `__metadata__` string map, padded
 * with spaces so that the data starts on an 8-byte boundary; then the
 * little-endian tensor bytes, back to back, in name order.
 *
 * @example
 * ```ts
 * const bytes = writeSafetensors({ bias: { shape: [2], data: new Float32Array([1, 2]) } }, { format: 'pt' });
 * const { weights } = readSafetensors(bytes); // weights.bias.data = [1, 2]
 * ```
 */
export function writeSafetensors(
  weights: WeightMap,
  metadata: Record<string, string> = {},
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const dtype = options.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') {
    throw new InvalidArgumentError({
      argument: 'options.dtype',
      value: dtype,
      message: "must be 'F32', 'F16' or 'BF16'",
    });
  }
  const elementBytes = bytesPerElement[dtype];
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new InvalidArgumentError({
        argument: `metadata.${key}`,
        value,
        message: 'safetensors metadata values must be strings',
      });
    }
  }
  const names = Object.keys(weights).sort();
  const header: Record<string, HeaderEntry | Record<string, string>> = {};
  if (Object.keys(metadata).length > 0) header[metadataKey] = metadata;
  let offset = 0;
  for (const name of names) {
    const tensor = weights[name] as WeightTensor;
    if (name === '' || name === metadataKey) {
      throw new InvalidArgumentError({
        argument: 'weights',
        value: name,
        message: `a tensor may not be named "${name}"`,
      });
    }
    if (!tensor.shape.every((size) => Number.isInteger(size) && size >= 0)) {
      throw new InvalidArgumentError({
        argument: `weights["${name}"].shape`,
        value: tensor.shape,
        message: 'must be non-negative integers',
      });
    }
    if (
      !(tensor.data instanceof Float32Array) ||
      elementCount(tensor.shape) !== tensor.data.length
    ) {
      throw new InvalidArgumentError({
        argument: `weights["${name}"].data`,
        value: tensor.data,
        message: `must be a Float32Array of ${elementCount(tensor.shape)} elements for shape [${tensor.shape.join(', ')}]`,
      });
    }
    const byteLength = tensor.data.length * elementBytes;
    header[name] = {
      dtype,
      shape: [...tensor.shape],
      data_offsets: [offset, offset + byteLength],
    };
    offset += byteLength;
  }
  let headerText = JSON.stringify(header);
  const headerBytesUnpadded = new TextEncoder().encode(headerText).length;
  headerText += ' '.repeat((8 - ((8 + headerBytesUnpadded) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(headerText);

  const output = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(output.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  output.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const name of names) {
    const data = (weights[name] as WeightTensor).data;
    if (dtype === 'F16' || dtype === 'BF16') {
      const encode = dtype === 'F16' ? floatToHalfBits : floatToBfloat16Bits;
      for (let index = 0; index < data.length; index++)
        view.setUint16(position + 2 * index, encode(data[index] as number), true);
    } else if (littleEndianHost) {
      output.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    } else {
      for (let index = 0; index < data.length; index++)
        view.setFloat32(position + 4 * index, data[index] as number, true);
    }
    position += data.length * elementBytes;
  }
  return output;
}

/**
 * Converts an IEEE 754 half-precision bit pattern to a number:
 * `(-1)^s * 2^(e-15) * (1 + m/1024)`, subnormals `(-1)^s * 2^-14 * m/1024`,
 * `e = 31` for infinities and NaN.
 *
 * @example
 * ```ts
 * halfToFloat(0x3c00); // 1
 * halfToFloat(0xc000); // -2
 * ```
 */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (mantissa / 1024);
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

function fail(source: string, message: string): never {
  throw new CheckpointError({ path: source, message });
}

function decodeTensor(bytes: Uint8Array, dtype: SafetensorsFloatType, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const output = new Float32Array(count);
  if (dtype === 'F32') {
    if (littleEndianHost) {
      // Copy (Node's Buffer#slice would share memory) so the result is aligned and owned.
      const copy = new Uint8Array(bytes.length);
      copy.set(bytes);
      return new Float32Array(copy.buffer);
    }
    for (let index = 0; index < count; index++) output[index] = view.getFloat32(4 * index, true);
  } else if (dtype === 'F64') {
    for (let index = 0; index < count; index++) output[index] = view.getFloat64(8 * index, true);
  } else if (dtype === 'F16') {
    for (let index = 0; index < count; index++)
      output[index] = halfToFloat(view.getUint16(2 * index, true));
  } else {
    // bfloat16 is the upper half of a float32, so widening is a 16-bit shift.
    const widened = new Uint32Array(output.buffer);
    for (let index = 0; index < count; index++)
      widened[index] = view.getUint16(2 * index, true) << 16;
  }
  return output;
}

/**
 * Parses a safetensors file (format as in {@link writeSafetensors}) into
 * float32 weights. `F32`, `F16`, `BF16` and `F64` tensors are decoded (the
 * last three widened or rounded to float32), so half-precision GPT-2-family
 * checkpoints load too. Throws {@link CheckpointError} for a truncated file, a
 * malformed header, an unsupported dtype, a size that disagrees with the
 * shape, or data offsets that overlap, leave holes, or run past the end.
 *
 * @example
 * ```ts
 * const { weights, metadata } = readSafetensors(await readFile('model.safetensors'), { source: 'model.safetensors' });
 * ```
 */
export function readSafetensors(
  bytes: Uint8Array,
  options: ReadSafetensorsOptions = {},
): SafetensorsContents {
  const file = openSafetensors(bytes, options);
  const weights: WeightMap = {};
  for (const name of file.names) weights[name] = file.tensor(name);
  return { weights, metadata: file.metadata };
}

/** A parsed safetensors file whose tensors are decoded one at a time, on request. */
export interface SafetensorsFile {
  /** Tensor names, in the order of the header. */
  names: string[];
  metadata: Record<string, string>;
  /** The element type and shape of a tensor, without decoding it. */
  entry(name: string): { dtype: SafetensorsFloatType; shape: number[] } | undefined;
  /** Decodes one tensor into a new float32 array. Throws naming it when it is not in the file. */
  tensor(name: string): WeightTensor;
}

/**
 * Parses and checks the header of a safetensors file (as {@link readSafetensors}
 * does) and decodes each tensor only when asked, so a loader can convert a
 * half-precision checkpoint one tensor at a time instead of holding a float32
 * copy of the whole file.
 *
 * @example
 * ```ts
 * const file = openSafetensors(bytes, { source: 'model-00001-of-00002.safetensors' });
 * for (const name of file.names) model.setWeight(name, file.tensor(name));
 * ```
 */
export function openSafetensors(
  bytes: Uint8Array,
  options: ReadSafetensorsOptions = {},
): SafetensorsFile {
  const source = options.source ?? 'safetensors bytes';
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError({
      argument: 'bytes',
      value: bytes,
      message: 'must be a Uint8Array',
    });
  }
  if (bytes.length < 8)
    fail(source, `truncated: ${bytes.length} bytes, fewer than the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(maximumHeaderBytes, bytes.length - 8))) {
    fail(
      source,
      `header length ${headerLength} exceeds the ${bytes.length - 8} bytes after the length field`,
    );
  }
  const headerEnd = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd)),
    );
  } catch (error) {
    throw new CheckpointError({
      path: source,
      message: 'header is not valid UTF-8 JSON',
      cause: error,
    });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail(source, 'header is not a JSON object');

  const data = bytes.subarray(headerEnd);
  const metadata: Record<string, string> = {};
  const entries: {
    name: string;
    dtype: SafetensorsFloatType;
    shape: number[];
    begin: number;
    end: number;
  }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === metadataKey) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        fail(source, '__metadata__ is not an object');
      for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(source, `__metadata__.${key} is not a string`);
        metadata[key] = value;
      }
      continue;
    }
    const entry = raw as Partial<HeaderEntry> | null;
    if (entry === null || typeof entry !== 'object')
      fail(source, `tensor "${name}" has no header entry object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !(dtype in bytesPerElement)) {
      fail(
        source,
        `tensor "${name}" has dtype ${JSON.stringify(dtype)}; supported: F32, F16, BF16, F64`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((size) => Number.isInteger(size) && size >= 0)) {
      fail(
        source,
        `tensor "${name}" has shape ${JSON.stringify(shape)}; expected non-negative integers`,
      );
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((value) => Number.isInteger(value) && value >= 0)
    ) {
      fail(
        source,
        `tensor "${name}" has data_offsets ${JSON.stringify(offsets)}; expected [begin, end]`,
      );
    }
    const [begin, end] = offsets;
    const typedDtype = dtype as SafetensorsFloatType;
    const expectedBytes = elementCount(shape) * bytesPerElement[typedDtype];
    if (end - begin !== expectedBytes) {
      fail(
        source,
        `tensor "${name}" spans ${end - begin} bytes but ${typedDtype} shape [${shape.join(', ')}] needs ${expectedBytes}`,
      );
    }
    entries.push({ name, dtype: typedDtype, shape, begin, end });
  }

  // The format requires the data buffer to be covered exactly: no overlap, no holes, nothing past the end.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const entry of byOffset) {
    if (entry.begin !== covered) {
      fail(
        source,
        `tensor "${entry.name}" starts at byte ${entry.begin}, expected ${covered} (overlap or hole in the data)`,
      );
    }
    covered = entry.end;
  }
  if (covered !== data.length) {
    fail(
      source,
      covered > data.length
        ? `truncated: tensors need ${covered} data bytes, file has ${data.length}`
        : `${data.length - covered} trailing bytes after the last tensor`,
    );
  }

  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  return {
    names: entries.map((entry) => entry.name),
    metadata,
    entry(name) {
      const found = byName.get(name);
      return found === undefined ? undefined : { dtype: found.dtype, shape: [...found.shape] };
    },
    tensor(name) {
      const found = byName.get(name);
      if (found === undefined) fail(source, `has no tensor "${name}"`);
      return {
        shape: [...found.shape],
        data: decodeTensor(
          data.subarray(found.begin, found.end),
          found.dtype,
          elementCount(found.shape),
        ),
      };
    },
  };
}
