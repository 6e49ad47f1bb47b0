import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointError, InvalidArgumentError, Random } from '@cohort/core';
import { afterAll, describe, expect, it } from 'vitest';
import { gpt2ConfigToHuggingFace, parseGpt2Config } from './gpt2-config';
import { randomGpt2Weights } from './reference-gpt2';
import { halfToFloat, readSafetensors, writeSafetensors } from './safetensors';
import { loadHuggingFaceModel, saveHuggingFaceModel } from './safetensors-files';
import type { WeightMap } from './weights';

/** Builds a safetensors file by hand: length field, header text, raw data bytes. */
function handMade(headerText: string, data: number[]): Uint8Array {
  const header = new TextEncoder().encode(headerText);
  const bytes = new Uint8Array(8 + header.length + data.length);
  bytes[0] = header.length & 0xff;
  bytes[1] = (header.length >> 8) & 0xff;
  bytes.set(header, 8);
  bytes.set(data, 8 + header.length);
  return bytes;
}

function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

const directories: string[] = [];
async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cohort-safetensors-'));
  directories.push(directory);
  return directory;
}
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

describe('writeSafetensors / readSafetensors', () => {
  it('round-trips bit for bit, including NaN payloads, -0, infinities and subnormals', () => {
    const random = new Random(3);
    const special = new Float32Array([
      Number.NaN,
      -0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1e-45,
      3.4e38,
    ]);
    bitsOf(special)[0] = 0x7fc00123; // a NaN with a payload
    const weights: WeightMap = {
      'b.matrix': {
        shape: [3, 5],
        data: Float32Array.from({ length: 15 }, () => random.normal(0, 10)),
      },
      'a.special': { shape: [6], data: special },
      scalar: { shape: [], data: new Float32Array([42.5]) },
      empty: { shape: [0, 4], data: new Float32Array(0) },
    };
    const { weights: read, metadata } = readSafetensors(
      writeSafetensors(weights, { format: 'pt', note: 'é' }),
    );
    expect(metadata).toEqual({ format: 'pt', note: 'é' });
    expect(Object.keys(read).sort()).toEqual(Object.keys(weights).sort());
    for (const [name, tensor] of Object.entries(weights)) {
      expect(read[name]?.shape).toEqual(tensor.shape);
      expect(Array.from(bitsOf(read[name]?.data as Float32Array))).toEqual(
        Array.from(bitsOf(tensor.data)),
      );
    }
  });

  it('writes the documented layout: u64 LE header length, JSON header padded to 8 bytes, LE float data in name order', () => {
    const bytes = writeSafetensors({
      z: { shape: [1], data: new Float32Array([1]) },
      a: { shape: [2], data: new Float32Array([-2, 0.5]) },
    });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(JSON.parse(headerText)).toEqual({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      z: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    });
    expect(headerText.trimEnd()).toBe(
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
    );
    // -2 = 0xc0000000, 0.5 = 0x3f000000, 1 = 0x3f800000, little-endian.
    expect(Array.from(bytes.subarray(8 + headerLength))).toEqual([
      0, 0, 0, 0xc0, 0, 0, 0, 0x3f, 0, 0, 0x80, 0x3f,
    ]);
  });

  it('reads a hand-made file with an unpadded header and no metadata', () => {
    const bytes = handMade(
      '{"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}',
      [0, 0, 0x20, 0x40, 0, 0, 0xc0, 0x7f],
    );
    const { weights, metadata } = readSafetensors(bytes);
    expect(metadata).toEqual({});
    expect(weights.w?.shape).toEqual([1, 2]);
    expect(weights.w?.data[0]).toBe(2.5);
    expect(Number.isNaN(weights.w?.data[1])).toBe(true);
  });

  it('decodes F16 against hand-computed values', () => {
    const cases: [number, number][] = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x7bff, 65504],
      [0x3555, 0.333251953125],
      [0x0001, 2 ** -24],
      [0x03ff, 1023 * 2 ** -24],
      [0x8000, -0],
      [0x7c00, Number.POSITIVE_INFINITY],
      [0xfc00, Number.NEGATIVE_INFINITY],
    ];
    for (const [bits, value] of cases) expect(halfToFloat(bits)).toBe(value);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);

    const data = cases.flatMap(([bits]) => [bits & 0xff, bits >> 8]);
    const bytes = handMade(
      `{"h":{"dtype":"F16","shape":[${cases.length}],"data_offsets":[0,${data.length}]}}`,
      data,
    );
    expect(Array.from(readSafetensors(bytes).weights.h?.data ?? [])).toEqual(
      cases.map(([, value]) => Math.fround(value)),
    );
  });

  it('decodes BF16 (upper half of a float32) and F64 against hand-computed values', () => {
    const bf16: [number, number][] = [
      [0x3f80, 1],
      [0xc040, -3],
      [0x4049, 3.140625],
      [0x0001, 2 ** -133],
      [0xff80, Number.NEGATIVE_INFINITY],
    ];
    const data = bf16.flatMap(([bits]) => [bits & 0xff, bits >> 8]);
    const f64 = new Float64Array([0.1, -1e300]);
    const f64Bytes = Array.from(new Uint8Array(f64.buffer));
    const header = `{"b":{"dtype":"BF16","shape":[5],"data_offsets":[0,10]},"d":{"dtype":"F64","shape":[2],"data_offsets":[10,26]}}`;
    const { weights } = readSafetensors(handMade(header, [...data, ...f64Bytes]));
    expect(Array.from(weights.b?.data ?? [])).toEqual(bf16.map(([, value]) => value));
    expect(Array.from(weights.d?.data ?? [])).toEqual([Math.fround(0.1), Number.NEGATIVE_INFINITY]);
  });

  it('rejects truncated and inconsistent files with a CheckpointError', () => {
    const good = writeSafetensors({ w: { shape: [4], data: new Float32Array([1, 2, 3, 4]) } });
    const reject = (bytes: Uint8Array, pattern: RegExp) => {
      let thrown: unknown;
      try {
        readSafetensors(bytes, { source: 'damaged.safetensors' });
      } catch (error) {
        thrown = error;
      }
      expect(CheckpointError.isInstance(thrown)).toBe(true);
      expect((thrown as Error).message).toMatch(/damaged\.safetensors/);
      expect((thrown as Error).message).toMatch(pattern);
    };
    reject(good.subarray(0, 5), /truncated/);
    reject(good.subarray(0, good.length - 1), /truncated/);
    reject(good.subarray(0, 20), /header length/);
    reject(new Uint8Array([...good, 0, 0, 0, 0]), /trailing/);
    reject(
      handMade('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Array(8).fill(0)),
      /needs 12/,
    );
    reject(
      handMade('{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', new Array(8).fill(0)),
      /dtype "I64"/,
    );
    reject(
      handMade(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        new Array(8).fill(0),
      ),
      /overlap or hole/,
    );
    reject(
      handMade('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Array(8).fill(0)),
      /overlap or hole/,
    );
    reject(handMade('{"w": nope}', []), /not valid UTF-8 JSON/);
    reject(handMade('[1,2]', []), /not a JSON object/);
    reject(handMade('{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}', []), /shape/);
    reject(handMade('{"__metadata__":{"n":1}}', []), /__metadata__\.n/);
  });

  it('refuses weights whose data does not match the shape, naming the tensor', () => {
    expect(() => writeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      /weights\["w"\]\.data/,
    );
    expect(() => writeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => writeSafetensors({}, { n: 1 as unknown as string })).toThrow(/metadata\.n/);
  });
});

describe('saveHuggingFaceModel / loadHuggingFaceModel', () => {
  const config = parseGpt2Config({
    vocabSize: 11,
    contextLength: 8,
    embeddingSize: 4,
    layerCount: 2,
    headCount: 2,
    eosTokenId: 3,
  });
  const weights = randomGpt2Weights({ config, seed: 9 });

  it('round-trips config and weights exactly, with tokenizer files, leaving no temporary files', async () => {
    const directory = await temporaryDirectory();
    await saveHuggingFaceModel(directory, {
      config,
      weights,
      tokenizerFiles: { 'tokenizer.json': '{"x":1}' },
    });
    expect((await readdir(directory)).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'tokenizer.json',
    ]);
    const loaded = await loadHuggingFaceModel(directory);
    expect(loaded.config).toEqual(config);
    expect(loaded.metadata).toEqual({ format: 'pt' });
    for (const [name, tensor] of Object.entries(weights)) {
      expect(Array.from(bitsOf(loaded.weights[name]?.data as Float32Array))).toEqual(
        Array.from(bitsOf(tensor.data)),
      );
    }
    expect(JSON.parse(await readFile(path.join(directory, 'config.json'), 'utf8')).model_type).toBe(
      'gpt2',
    );
  });

  it('reads a hub-style checkpoint: no transformer. prefix, F16 weights, attn.bias buffers and lm_head', async () => {
    const directory = await temporaryDirectory();
    const header: Record<string, unknown> = {};
    const chunks: number[] = [];
    for (const [name, tensor] of Object.entries(weights)) {
      const begin = chunks.length;
      // 1.5 in F16 is 0x3e00: every weight of the hub file is 1.5.
      for (let index = 0; index < tensor.data.length; index++) chunks.push(0x00, 0x3e);
      header[name.replace(/^transformer\./, '')] = {
        dtype: 'F16',
        shape: tensor.shape,
        data_offsets: [begin, chunks.length],
      };
    }
    const extras: [string, number[]][] = [
      ['h.0.attn.bias', [1, 1, 8, 8]],
      ['lm_head.weight', [11, 4]],
    ];
    for (const [name, shape] of extras) {
      const begin = chunks.length;
      for (let index = 0; index < shape.reduce((a, b) => a * b, 1); index++) chunks.push(0, 0);
      header[name] = { dtype: 'F16', shape, data_offsets: [begin, chunks.length] };
    }
    await writeFile(
      path.join(directory, 'model.safetensors'),
      handMade(JSON.stringify(header), chunks),
    );
    await writeFile(
      path.join(directory, 'config.json'),
      JSON.stringify(gpt2ConfigToHuggingFace(config)),
    );
    const loaded = await loadHuggingFaceModel(directory);
    expect(Object.keys(loaded.weights).sort()).toEqual(Object.keys(weights).sort());
    expect(
      loaded.weights['transformer.h.1.mlp.c_fc.weight']?.data.every((value) => value === 1.5),
    ).toBe(true);
  });

  it('refuses a missing file, a mismatched config, and a damaged weights file', async () => {
    const directory = await temporaryDirectory();
    await expect(loadHuggingFaceModel(directory)).rejects.toThrow(/config\.json/);
    await saveHuggingFaceModel(directory, { config, weights });
    await writeFile(
      path.join(directory, 'config.json'),
      JSON.stringify(gpt2ConfigToHuggingFace({ ...config, embeddingSize: 8 })),
    );
    await expect(loadHuggingFaceModel(directory)).rejects.toThrow(
      /transformer\.wte\.weight has shape \[11, 4\].*\[11, 8\]/,
    );
    await writeFile(
      path.join(directory, 'config.json'),
      JSON.stringify(gpt2ConfigToHuggingFace({ ...config, layerCount: 3 })),
    );
    await expect(loadHuggingFaceModel(directory)).rejects.toThrow(
      /missing GPT-2 weights: transformer\.h\.2/,
    );
    await writeFile(
      path.join(directory, 'config.json'),
      JSON.stringify(gpt2ConfigToHuggingFace(config)),
    );
    const bytes = await readFile(path.join(directory, 'model.safetensors'));
    await writeFile(
      path.join(directory, 'model.safetensors'),
      bytes.subarray(0, bytes.length - 10),
    );
    const error = await loadHuggingFaceModel(directory).catch((caught: unknown) => caught);
    expect(CheckpointError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/model\.safetensors: truncated/);
    await expect(
      saveHuggingFaceModel(directory, {
        config,
        weights: {
          ...weights,
          'transformer.wte.weight': { shape: [1], data: new Float32Array(1) },
        },
      }),
    ).rejects.toThrow(/transformer\.wte\.weight/);
  });
});
