import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AutoModelForCausalLM,
  AutoTokenizer,
  env,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  Tensor,
} from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argmax } from '../argmax';
import { parseGpt2Config } from '../gpt2-config';
import { randomGpt2Weights, referenceGpt2Logits } from '../reference-gpt2';
import { trainBpeTokenizer } from '../tokenizer/train-bpe-tokenizer';
import { exportForTransformersJs } from './export-for-transformers-js';
import { exportGpt2ToOnnx } from './export-gpt2-to-onnx';
import { onnx } from './onnx-graph-builder';

const tokenizer = trainBpeTokenizer({
  texts: [
    'the cat sat on the mat',
    'hello there, how are you today?',
    'I am fine, thank you. And you?',
    'numbers 1 2 3 4 5 6 7 8 9 10',
  ],
  vocabSize: 300,
});
const config = parseGpt2Config({
  vocabSize: tokenizer.vocabSize,
  contextLength: 64,
  embeddingSize: 32,
  layerCount: 2,
  headCount: 2,
  eosTokenId: tokenizer.eosTokenId,
  bosTokenId: tokenizer.eosTokenId,
});
const weights = randomGpt2Weights({ config, seed: 11 });
const heads = config.headCount;
const headSize = config.embeddingSize / heads;
const vocab = config.vocabSize;
const tolerance = 1e-4;

let session: ort.InferenceSession;
let directory = '';

beforeAll(async () => {
  session = await ort.InferenceSession.create(exportGpt2ToOnnx({ config, weights }));
  directory = await mkdtemp(path.join(tmpdir(), 'cohort-onnx-'));
});
afterAll(async () => {
  await session?.release();
  await rm(directory, { recursive: true, force: true });
});

function int64(rows: readonly (readonly number[])[]): ort.Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(rows.flat(), (value) => BigInt(value)),
    [rows.length, rows[0]?.length ?? 0],
  );
}

type Cache = Record<string, ort.Tensor>;

function emptyCache(batch: number): Cache {
  const cache: Cache = {};
  for (let layer = 0; layer < config.layerCount; layer++) {
    for (const part of ['key', 'value'])
      cache[`past_key_values.${layer}.${part}`] = new ort.Tensor('float32', new Float32Array(0), [
        batch,
        heads,
        0,
        headSize,
      ]);
  }
  return cache;
}

/** Runs the exported graph; returns logits `[B, S, V]` flat, and the cache for the next call. */
async function run(
  ids: number[][],
  mask: number[][],
  positions: number[][],
  past: Cache = emptyCache(ids.length),
): Promise<{ logits: Float32Array; cache: Cache }> {
  const outputs = await session.run({
    input_ids: int64(ids),
    attention_mask: int64(mask),
    position_ids: int64(positions),
    ...past,
  });
  const cache: Cache = {};
  for (let layer = 0; layer < config.layerCount; layer++) {
    for (const part of ['key', 'value'])
      cache[`past_key_values.${layer}.${part}`] = outputs[`present.${layer}.${part}`] as ort.Tensor;
  }
  const logits = outputs.logits as ort.Tensor;
  expect(logits.dims).toEqual([ids.length, ids[0]?.length, vocab]);
  return { logits: logits.data as Float32Array, cache };
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let index = 0; index < a.length; index++)
    worst = Math.max(worst, Math.abs((a[index] as number) - (b[index] as number)));
  return worst;
}

function row(
  logits: Float32Array,
  batchIndex: number,
  length: number,
  start: number,
  count: number,
): Float32Array {
  return logits.subarray(
    (batchIndex * length + start) * vocab,
    (batchIndex * length + start + count) * vocab,
  );
}

/** Greedy decoding with the float64 reference forward, stopping after a stop token as transformers.js does. */
function referenceGreedy(prompt: number[], steps: number, stopIds: number[]): number[] {
  const sequence = [...prompt];
  const generated: number[] = [];
  for (let step = 0; step < steps; step++) {
    const logits = referenceGpt2Logits({ config, weights, tokenIds: sequence });
    const next = argmax(logits.subarray((sequence.length - 1) * vocab));
    generated.push(next);
    sequence.push(next);
    if (stopIds.includes(next)) break;
  }
  return generated;
}

const promptA = tokenizer.encode('hello there, the cat');
const promptB = tokenizer.encode('I am fine');

describe('exportGpt2ToOnnx', () => {
  it('writes an opset-14 ModelProto with the transformers.js input and output names', () => {
    const model = onnx.ModelProto.decode(exportGpt2ToOnnx({ config, weights }));
    expect(Number(model.opsetImport[0]?.version)).toBe(14);
    expect(model.graph?.input?.map((value) => value.name)).toEqual([
      'input_ids',
      'attention_mask',
      'position_ids',
      'past_key_values.0.key',
      'past_key_values.0.value',
      'past_key_values.1.key',
      'past_key_values.1.value',
    ]);
    expect(model.graph?.output?.map((value) => value.name)).toEqual([
      'logits',
      'present.0.key',
      'present.0.value',
      'present.1.key',
      'present.1.value',
    ]);
    const operators = new Set(model.graph?.node?.map((node) => node.opType));
    expect(operators.has('LayerNormalization')).toBe(false);
    expect(
      operators.has('Softmax') &&
        operators.has('Tanh') &&
        operators.has('Concat') &&
        operators.has('Where'),
    ).toBe(true);
  });

  it('refuses misshaped and non-finite weights, naming them', () => {
    const data = Float32Array.from(weights['transformer.h.1.mlp.c_fc.bias']?.data ?? []);
    data[5] = Number.NaN;
    const poisoned = {
      ...weights,
      'transformer.h.1.mlp.c_fc.bias': { shape: [4 * config.embeddingSize], data },
    };
    expect(() => exportGpt2ToOnnx({ config, weights: poisoned })).toThrow(
      /weights\["transformer\.h\.1\.mlp\.c_fc\.bias"\]\.data\[5\] is NaN/,
    );
    const { 'transformer.ln_f.bias': _, ...missing } = weights;
    expect(() => exportGpt2ToOnnx({ config, weights: missing })).toThrow(
      /missing GPT-2 weights: transformer\.ln_f\.bias/,
    );
  });

  it('matches the float64 reference logits on a batch of two prompts', async () => {
    const length = 6;
    const sequences = [promptA.slice(0, length), [...promptB, ...promptA].slice(0, length)];
    const positions = sequences.map((sequence) => sequence.map((_, t) => t));
    const { logits } = await run(
      sequences,
      sequences.map((sequence) => sequence.map(() => 1)),
      positions,
    );
    sequences.forEach((sequence, b) => {
      const expected = referenceGpt2Logits({ config, weights, tokenIds: sequence });
      expect(maxDifference(row(logits, b, length, 0, length), expected)).toBeLessThan(tolerance);
    });
    // The logits are not trivially small: a wrong graph could not pass by accident.
    expect(Math.max(...Array.from(logits).map(Math.abs))).toBeGreaterThan(1);
  });

  it('gives the same logits fed token by token through past_key_values as in one pass', async () => {
    const sequence = [...promptA, ...promptB];
    const full = referenceGpt2Logits({ config, weights, tokenIds: sequence });
    const promptLength = 4;
    let step = await run(
      [sequence.slice(0, promptLength)],
      [sequence.slice(0, promptLength).map(() => 1)],
      [[0, 1, 2, 3]],
    );
    expect(maxDifference(step.logits, full.subarray(0, promptLength * vocab))).toBeLessThan(
      tolerance,
    );
    for (let t = promptLength; t < sequence.length; t++) {
      step = await run(
        [[sequence[t] as number]],
        [sequence.slice(0, t + 1).map(() => 1)],
        [[t]],
        step.cache,
      );
      expect(step.cache['past_key_values.0.key']?.dims).toEqual([1, heads, t + 1, headSize]);
      expect(
        maxDifference(step.logits, full.subarray(t * vocab, (t + 1) * vocab)),
        `position ${t}`,
      ).toBeLessThan(tolerance);
    }
  });

  it('honours left padding in the prompt and in later cached steps', async () => {
    const pad = tokenizer.padTokenId;
    const padding = promptA.length - promptB.length;
    expect(padding).toBeGreaterThan(0);
    const ids = [promptA, [...new Array(padding).fill(pad), ...promptB]];
    const mask = [promptA.map(() => 1), [...new Array(padding).fill(0), ...promptB.map(() => 1)]];
    // Hugging Face's convention: positions count real tokens; padding slots get position 1.
    const positions = [
      promptA.map((_, t) => t),
      [...new Array(padding).fill(1), ...promptB.map((_, t) => t)],
    ];
    const length = promptA.length;
    const first = await run(ids, mask, positions);
    expect(
      maxDifference(
        row(first.logits, 0, length, 0, length),
        referenceGpt2Logits({ config, weights, tokenIds: promptA }),
      ),
    ).toBeLessThan(tolerance);
    expect(
      maxDifference(
        row(first.logits, 1, length, padding, promptB.length),
        referenceGpt2Logits({ config, weights, tokenIds: promptB }),
      ),
    ).toBeLessThan(tolerance);
    expect(Array.from(first.logits).every(Number.isFinite)).toBe(true);

    const nextTokens = [17, 42];
    const second = await run(
      nextTokens.map((token) => [token]),
      mask.map((maskRow) => [...maskRow, 1]),
      [[promptA.length], [promptB.length]],
      first.cache,
    );
    const expectedA = referenceGpt2Logits({ config, weights, tokenIds: [...promptA, 17] }).subarray(
      promptA.length * vocab,
    );
    const expectedB = referenceGpt2Logits({ config, weights, tokenIds: [...promptB, 42] }).subarray(
      promptB.length * vocab,
    );
    expect(maxDifference(row(second.logits, 0, 1, 0, 1), expectedA)).toBeLessThan(tolerance);
    expect(maxDifference(row(second.logits, 1, 1, 0, 1), expectedB)).toBeLessThan(tolerance);
  });
});

describe('exportGpt2ToOnnx with lastPositionOnly', () => {
  it("gives the full graph's last-position logits, on a left-padded prompt and a cached step", async () => {
    const last = await ort.InferenceSession.create(
      exportGpt2ToOnnx({ config, weights, lastPositionOnly: true }),
    );
    const padding = promptA.length - promptB.length;
    const ids = [promptA, [...new Array(padding).fill(tokenizer.padTokenId), ...promptB]];
    const mask = [promptA.map(() => 1), [...new Array(padding).fill(0), ...promptB.map(() => 1)]];
    const positions = [
      promptA.map((_, t) => t),
      [...new Array(padding).fill(1), ...promptB.map((_, t) => t)],
    ];
    const length = promptA.length;
    const full = await run(ids, mask, positions);
    const cut = await last.run({
      input_ids: int64(ids),
      attention_mask: int64(mask),
      position_ids: int64(positions),
      ...emptyCache(2),
    });
    const cutLogits = cut.logits as ort.Tensor;
    expect(cutLogits.dims).toEqual([2, 1, vocab]);
    for (let b = 0; b < 2; b++)
      expect(
        maxDifference(
          row(cutLogits.data as Float32Array, b, 1, 0, 1),
          row(full.logits, b, length, length - 1, 1),
        ),
      ).toBeLessThan(1e-6);
    // The cache it hands on is the full graph's: the next step agrees too.
    expect((cut['present.0.key'] as ort.Tensor).dims).toEqual([2, heads, length, headSize]);
    const cache: Cache = {};
    for (let layer = 0; layer < config.layerCount; layer++)
      for (const part of ['key', 'value'])
        cache[`past_key_values.${layer}.${part}`] = cut[`present.${layer}.${part}`] as ort.Tensor;
    const next = { ids: [[17], [42]], mask: mask.map((maskRow) => [...maskRow, 1]) };
    const nextPositions = [[promptA.length], [promptB.length]];
    const fullStep = await run(next.ids, next.mask, nextPositions, full.cache);
    const cutStep = await last.run({
      input_ids: int64(next.ids),
      attention_mask: int64(next.mask),
      position_ids: int64(nextPositions),
      ...cache,
    });
    expect(
      maxDifference((cutStep.logits as ort.Tensor).data as Float32Array, fullStep.logits),
    ).toBeLessThan(1e-6);
    await last.release();
  });
});

describe('exportForTransformersJs', () => {
  let model: PreTrainedModel;
  let loadedTokenizer: PreTrainedTokenizer;

  beforeAll(async () => {
    await exportForTransformersJs(path.join(directory, 'tiny-gpt2'), {
      config,
      weights,
      tokenizer,
    });
    env.allowRemoteModels = false;
    env.localModelPath = directory;
    model = await AutoModelForCausalLM.from_pretrained('tiny-gpt2', {
      dtype: 'fp32',
      device: 'cpu',
    });
    loadedTokenizer = await AutoTokenizer.from_pretrained('tiny-gpt2');
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('writes config, generation config, tokenizer files and onnx/model.onnx', async () => {
    const written = JSON.parse(
      await readFile(path.join(directory, 'tiny-gpt2', 'generation_config.json'), 'utf8'),
    );
    expect(written).toEqual({ bos_token_id: 0, eos_token_id: [0, 2], pad_token_id: 3 });
    const hfConfig = JSON.parse(
      await readFile(path.join(directory, 'tiny-gpt2', 'config.json'), 'utf8'),
    );
    expect(hfConfig.model_type).toBe('gpt2');
    expect(hfConfig.vocab_size).toBe(vocab);
  });

  it('gives reference logits through the transformers.js model call', async () => {
    const output = await model({
      input_ids: new Tensor('int64', BigInt64Array.from(promptA, BigInt), [1, promptA.length]),
      attention_mask: new Tensor(
        'int64',
        BigInt64Array.from(promptA, () => 1n),
        [1, promptA.length],
      ),
    });
    const logits = (output as { logits: Tensor }).logits;
    expect(
      maxDifference(
        logits.data as Float32Array,
        referenceGpt2Logits({ config, weights, tokenIds: promptA }),
      ),
    ).toBeLessThan(tolerance);
  });

  it('generates the reference greedy tokens from a chat prompt, alone and in a left-padded batch', async () => {
    const stopIds = [tokenizer.eosTokenId, tokenizer.endOfTurnTokenId];
    const chat = tokenizer.applyChatTemplate([{ role: 'user', content: 'hello there' }]);
    const expectedChat = referenceGreedy(chat, 10, stopIds);
    // Ten tokens without a stop token, so the cached steps of generate() are all exercised.
    expect(expectedChat.length).toBe(10);
    const single = (await model.generate({
      inputs: new Tensor('int64', BigInt64Array.from(chat, BigInt), [1, chat.length]),
      attention_mask: new Tensor(
        'int64',
        BigInt64Array.from(chat, () => 1n),
        [1, chat.length],
      ),
      do_sample: false,
      max_new_tokens: 10,
    })) as Tensor;
    expect((single.tolist() as bigint[][])[0]?.map(Number)).toEqual([...chat, ...expectedChat]);

    loadedTokenizer.padding_side = 'left';
    const texts = ['hello there, the cat', 'I am fine'];
    const batch = loadedTokenizer(texts, { padding: true });
    const output = (await model.generate({
      ...batch,
      do_sample: false,
      max_new_tokens: 10,
    })) as Tensor;
    const rows = (output.tolist() as bigint[][]).map((ids) => ids.map(Number));
    texts.forEach((text, b) => {
      const prompt = tokenizer.encode(text);
      const expected = referenceGreedy(prompt, 10, stopIds);
      expect(expected.length).toBeGreaterThanOrEqual(5);
      const promptWidth = (batch.input_ids as Tensor).dims[1] as number;
      const generated = (rows[b] ?? []).slice(promptWidth, promptWidth + expected.length);
      expect(generated, text).toEqual(expected);
    });
  });

  it('refuses a tokenizer larger than the model vocabulary', async () => {
    await expect(
      exportForTransformersJs(path.join(directory, 'bad'), {
        config: { ...config, vocabSize: 10 },
        weights,
        tokenizer,
      }),
    ).rejects.toThrow(`tokenizer.vocabSize = ${tokenizer.vocabSize}`);
  });
});
