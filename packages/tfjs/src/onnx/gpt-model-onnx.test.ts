import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from '../backend';
import { createGptModel, type GptModel } from '../gpt-model';
import { parseGpt2Config } from '../gpt2-config';
import { randomGpt2Weights } from '../reference-gpt2';
import { exportGpt2ToOnnx } from './export-gpt2-to-onnx';

const config = parseGpt2Config({
  vocabSize: 53,
  contextLength: 32,
  embeddingSize: 32,
  layerCount: 2,
  headCount: 4,
});
const headSize = config.embeddingSize / config.headCount;

function int64(rows: readonly (readonly number[])[]): ort.Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(rows.flat(), (value) => BigInt(value)),
    [rows.length, rows[0]?.length ?? 0],
  );
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let index = 0; index < a.length; index++)
    worst = Math.max(worst, Math.abs((a[index] as number) - (b[index] as number)));
  return worst;
}

describe('tfjs GptModel against its ONNX export', () => {
  let model: GptModel;
  let session: ort.InferenceSession;

  beforeAll(async () => {
    await initializeBackend({ backend: 'wasm', logger: false });
    model = createGptModel({ config, seed: 4 });
    // Larger-than-GPT-2 random weights, so logits vary by several units and a wrong layout cannot hide.
    model.setWeights(randomGpt2Weights({ config, seed: 21 }));
    session = await ort.InferenceSession.create(
      exportGpt2ToOnnx({ config, weights: model.getWeights() }),
    );
  });
  afterAll(async () => {
    model?.dispose();
    await session?.release();
  });

  it('gives the same logits on a left-padded batch, then on a cached step', async () => {
    const ids = [
      [0, 0, 5, 9, 14, 2],
      [7, 8, 1, 30, 52, 11],
    ];
    const mask = [
      [0, 0, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1],
    ];
    const positions = [
      [1, 1, 0, 1, 2, 3],
      [0, 1, 2, 3, 4, 5],
    ];
    const empty: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < config.layerCount; layer++) {
      for (const part of ['key', 'value'])
        empty[`past_key_values.${layer}.${part}`] = new ort.Tensor('float32', new Float32Array(0), [
          2,
          config.headCount,
          0,
          headSize,
        ]);
    }
    const onnxFirst = await session.run({
      input_ids: int64(ids),
      attention_mask: int64(mask),
      position_ids: int64(positions),
      ...empty,
    });
    const tfFirst = model.forward(ids, { attentionMask: mask, positionIds: positions });
    const onnxLogits = (onnxFirst.logits as ort.Tensor).data as Float32Array;
    const tfLogits = tfFirst.logits.dataSync();
    // Compare real (non-padding) positions only; padding rows are defined by neither side.
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 6; t++) {
        if (mask[b]?.[t] === 0) continue;
        const offset = (b * 6 + t) * config.vocabSize;
        const difference = maxDifference(
          onnxLogits.subarray(offset, offset + config.vocabSize),
          tfLogits.subarray(offset, offset + config.vocabSize),
        );
        expect(difference, `row ${b}, position ${t}`).toBeLessThan(2e-4);
      }
    }
    expect(Math.max(...Array.from(tfLogits).map(Math.abs))).toBeGreaterThan(1);

    const past: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < config.layerCount; layer++) {
      for (const part of ['key', 'value'])
        past[`past_key_values.${layer}.${part}`] = onnxFirst[
          `present.${layer}.${part}`
        ] as ort.Tensor;
    }
    const nextIds = [[3], [4]];
    const nextMask = mask.map((row) => [...row, 1]);
    const nextPositions = [[4], [6]];
    const onnxSecond = await session.run({
      input_ids: int64(nextIds),
      attention_mask: int64(nextMask),
      position_ids: int64(nextPositions),
      ...past,
    });
    const tfSecond = model.forward(nextIds, {
      pastKeyValues: tfFirst.presentKeyValues,
      attentionMask: nextMask,
      positionIds: nextPositions,
    });
    expect(
      maxDifference(
        (onnxSecond.logits as ort.Tensor).data as Float32Array,
        tfSecond.logits.dataSync(),
      ),
    ).toBeLessThan(2e-4);
    // The caches agree too (real positions of row 1, which has no padding).
    const onnxKey = (onnxSecond['present.1.key'] as ort.Tensor).data as Float32Array;
    const tfKey = tfSecond.presentKeyValues[1]?.key.dataSync() as Float32Array;
    const rowSize = config.headCount * 7 * headSize;
    expect(maxDifference(onnxKey.subarray(rowSize), tfKey.subarray(rowSize))).toBeLessThan(2e-4);

    tf.dispose([tfFirst.logits, tfSecond.logits]);
    for (const entry of [...tfFirst.presentKeyValues, ...tfSecond.presentKeyValues])
      tf.dispose([entry.key, entry.value]);
  });
});
