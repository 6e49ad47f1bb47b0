import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Random } from '@cohort/core';
import { AutoModelForCausalLM, env, type PreTrainedModel, Tensor } from '@huggingface/transformers';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from '../backend';
import { generate } from '../generate';
import type { LlamaConfigInput } from '../llama/llama-config';
import { createLlamaModel, type LlamaModel } from '../llama/llama-model';
import { randomLlamaWeights } from '../llama/reference-llama';
import { trainBpeTokenizer } from '../tokenizer/train-bpe-tokenizer';
import { exportLlamaForTransformersJs } from './export-llama-for-transformers-js';
import { exportLlamaToOnnx } from './export-llama-to-onnx';

const tokenizer = trainBpeTokenizer({
  texts: ['the cat sat on the mat', 'hello there, how are you today?', 'numbers 1 2 3 4 5'],
  vocabSize: 290,
});

const families: Record<string, LlamaConfigInput> = {
  llama: {
    modelType: 'llama',
    vocabSize: tokenizer.vocabSize,
    hiddenSize: 32,
    intermediateSize: 48,
    layerCount: 2,
    headCount: 4,
    keyValueHeadCount: 2,
    contextLength: 64,
    ropeTheta: 500,
    ropeScaling: {
      type: 'llama3',
      factor: 8,
      lowFrequencyFactor: 1,
      highFrequencyFactor: 4,
      originalContextLength: 32,
    },
    tieWordEmbeddings: true,
    queryKeyValueBias: true,
    outputBias: true,
    mlpBias: true,
    eosTokenId: tokenizer.eosTokenId,
  },
  qwen2: {
    modelType: 'qwen2',
    vocabSize: tokenizer.vocabSize,
    hiddenSize: 32,
    intermediateSize: 48,
    layerCount: 2,
    headCount: 4,
    keyValueHeadCount: 1,
    contextLength: 64,
    eosTokenId: tokenizer.eosTokenId,
  },
  qwen3: {
    modelType: 'qwen3',
    vocabSize: tokenizer.vocabSize,
    hiddenSize: 32,
    intermediateSize: 48,
    layerCount: 2,
    headCount: 4,
    keyValueHeadCount: 2,
    headSize: 12,
    contextLength: 64,
    ropeTheta: 1000,
    eosTokenId: tokenizer.eosTokenId,
  },
};

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

/** A model with random weights and random (non-zero) LoRA adapters, so the export must merge them. */
function adaptedModel(config: LlamaConfigInput, seed: number): LlamaModel {
  const model = createLlamaModel({
    config,
    zeroInitialize: true,
    lora: { rank: 2, alpha: 4, targets: ['q_proj', 'k_proj', 'o_proj', 'up_proj'] },
  });
  model.setWeights(randomLlamaWeights({ config, seed, scale: 0.2 }));
  const random = new Random(seed);
  for (const variable of model.trainableVariables()) {
    variable.assign(
      tf.tensor(
        Float32Array.from({ length: variable.size }, () => random.normal(0, 0.3)),
        variable.shape,
      ),
    );
  }
  return model;
}

describe('exportLlamaToOnnx', () => {
  let directory = '';
  beforeAll(async () => {
    await initializeBackend({ logger: false });
    directory = await mkdtemp(path.join(tmpdir(), 'cohort-llama-onnx-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  for (const [family, config] of Object.entries(families)) {
    it(`${family}: onnxruntime matches tfjs on a left-padded batch and a cached step`, async () => {
      const model = adaptedModel(config, 3);
      const session = await ort.InferenceSession.create(
        exportLlamaToOnnx({ config: model.config, weights: model.getWeights({ merged: true }) }),
      );
      const ids = [
        [0, 0, 5, 9, 14, 2, 40],
        [7, 8, 1, 30, 52, 11, 200],
      ];
      const mask = [
        [0, 0, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1, 1],
      ];
      const positions = [
        [0, 0, 0, 1, 2, 3, 4],
        [0, 1, 2, 3, 4, 5, 6],
      ];
      const { keyValueHeadCount, headSize, layerCount, vocabSize } = model.config;
      const empty: Record<string, ort.Tensor> = {};
      for (let layer = 0; layer < layerCount; layer++) {
        for (const part of ['key', 'value'])
          empty[`past_key_values.${layer}.${part}`] = new ort.Tensor(
            'float32',
            new Float32Array(0),
            [2, keyValueHeadCount, 0, headSize],
          );
      }
      const first = await session.run({
        input_ids: int64(ids),
        attention_mask: int64(mask),
        position_ids: int64(positions),
        ...empty,
      });
      const tfFirst = model.forward(ids, { attentionMask: mask, positionIds: positions });
      const onnxLogits = (first.logits as ort.Tensor).data as Float32Array;
      const tfLogits = tfFirst.logits.dataSync();
      for (let b = 0; b < 2; b++) {
        for (let t = 0; t < 7; t++) {
          if (mask[b]?.[t] === 0) continue;
          const offset = (b * 7 + t) * vocabSize;
          expect(
            maxDifference(
              onnxLogits.subarray(offset, offset + vocabSize),
              tfLogits.subarray(offset, offset + vocabSize),
            ),
            `row ${b}, position ${t}`,
          ).toBeLessThan(2e-4);
        }
      }
      expect(Math.max(...Array.from(tfLogits).map(Math.abs))).toBeGreaterThan(1);
      // A sampler's graph (lastPositionOnly) gives the last position's logits of the full graph.
      const last = await ort.InferenceSession.create(
        exportLlamaToOnnx({
          config: model.config,
          weights: model.getWeights({ merged: true }),
          lastPositionOnly: true,
        }),
      );
      const cut = await last.run({
        input_ids: int64(ids),
        attention_mask: int64(mask),
        position_ids: int64(positions),
        ...empty,
      });
      expect((cut.logits as ort.Tensor).dims).toEqual([2, 1, vocabSize]);
      for (let b = 0; b < 2; b++) {
        const offset = (b * 7 + 6) * vocabSize;
        expect(
          maxDifference(
            ((cut.logits as ort.Tensor).data as Float32Array).subarray(
              b * vocabSize,
              (b + 1) * vocabSize,
            ),
            onnxLogits.subarray(offset, offset + vocabSize),
          ),
        ).toBeLessThan(1e-6);
      }
      await last.release();
      const past: Record<string, ort.Tensor> = {};
      for (let layer = 0; layer < layerCount; layer++) {
        for (const part of ['key', 'value'])
          past[`past_key_values.${layer}.${part}`] = first[
            `present.${layer}.${part}`
          ] as ort.Tensor;
      }
      const nextMask = mask.map((row) => [...row, 1]);
      const second = await session.run({
        input_ids: int64([[3], [4]]),
        attention_mask: int64(nextMask),
        position_ids: int64([[5], [7]]),
        ...past,
      });
      const tfSecond = model.forward([[3], [4]], {
        pastKeyValues: tfFirst.presentKeyValues,
        attentionMask: nextMask,
        positionIds: [[5], [7]],
      });
      expect(
        maxDifference(
          (second.logits as ort.Tensor).data as Float32Array,
          tfSecond.logits.dataSync(),
        ),
      ).toBeLessThan(2e-4);
      expect((second['present.0.key'] as ort.Tensor).dims).toEqual([
        2,
        keyValueHeadCount,
        8,
        headSize,
      ]);
      tf.dispose([tfFirst.logits, tfSecond.logits]);
      for (const entry of [...tfFirst.presentKeyValues, ...tfSecond.presentKeyValues])
        tf.dispose([entry.key, entry.value]);
      await session.release();
      model.dispose();
    });

    it(`${family}: transformers.js loads the exported folder, with the same logits and greedy tokens`, async () => {
      const model = adaptedModel(config, 4);
      const id = `tiny-${family}`;
      await exportLlamaForTransformersJs(path.join(directory, id), {
        model,
        tokenizer,
        tokenizerFiles: tokenizer.toFiles(),
      });
      const written = JSON.parse(await readFile(path.join(directory, id, 'config.json'), 'utf8'));
      expect(written.model_type).toBe(family);
      env.allowRemoteModels = false;
      env.localModelPath = directory;
      const loaded: PreTrainedModel = await AutoModelForCausalLM.from_pretrained(id, {
        dtype: 'fp32',
        device: 'cpu',
      });
      const prompt = tokenizer.applyChatTemplate([{ role: 'user', content: 'hello there' }]);
      const output = (await loaded({
        input_ids: new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]),
        attention_mask: new Tensor(
          'int64',
          BigInt64Array.from(prompt, () => 1n),
          [1, prompt.length],
        ),
      })) as { logits: Tensor };
      const tfResult = model.forward([prompt]);
      expect(
        maxDifference(output.logits.data as Float32Array, tfResult.logits.dataSync()),
      ).toBeLessThan(2e-4);
      tf.dispose([
        tfResult.logits,
        ...tfResult.presentKeyValues.flatMap(({ key, value }) => [key, value]),
      ]);
      const stopTokenIds =
        tokenizer.endOfTurnTokenId === undefined ? [] : [tokenizer.endOfTurnTokenId];
      const [expected] = await generate(model, {
        prompts: [prompt],
        maxNewTokens: 8,
        temperature: 0,
        eosTokenId: tokenizer.eosTokenId,
        stopTokenIds,
      });
      const generated = (await loaded.generate({
        inputs: new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]),
        attention_mask: new Tensor(
          'int64',
          BigInt64Array.from(prompt, () => 1n),
          [1, prompt.length],
        ),
        do_sample: false,
        max_new_tokens: 8,
      })) as Tensor;
      const tokens = ((generated.tolist() as bigint[][])[0] ?? []).map(Number).slice(prompt.length);
      expect(tokens.length).toBeGreaterThanOrEqual(3);
      expect(tokens).toEqual(expected?.tokenIds);
      await loaded.dispose();
      model.dispose();
    });
  }
});
