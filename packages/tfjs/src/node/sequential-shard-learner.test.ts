import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from '../backend';
import type { GptModel } from '../gpt-model';
import type { LlamaModel } from '../llama/llama-model';
import { createDataParallelLearner, type DataParallelLearner } from './data-parallel-learner';
import { createSequentialShardLearner } from './sequential-shard-learner';
import {
  config,
  freshLlama,
  freshModel,
  items,
  lossModule,
  shared,
} from './test-fixtures/sharded-models';
import weightedNllLoss, { type WeightedItem } from './test-fixtures/weighted-nll-loss';

const bitsOf = (map: tf.NamedTensorMap) =>
  Object.entries(map).map(([name, tensor]) => [
    name,
    Buffer.from((tensor.dataSync() as Float32Array).buffer).toString('base64'),
  ]);

describe('SequentialShardLearner', () => {
  let twoWorkers: DataParallelLearner;
  let twoWorkersLlama: DataParallelLearner;

  beforeAll(async () => {
    await initializeBackend({ backend: 'wasm', logger: false });
    const probe = freshLlama();
    twoWorkersLlama = await createDataParallelLearner({
      llama: { config: probe.config, lora: probe.lora! },
      lossModule,
      workerCount: 2,
    });
    probe.dispose();
    twoWorkers = await createDataParallelLearner({ config, lossModule, workerCount: 2 });
  });

  afterAll(async () => {
    await Promise.all([twoWorkers?.dispose(), twoWorkersLlama?.dispose()]);
  });

  it('gives, bit for bit, the gradient of one pass with one shard, and of as many workers with more', async () => {
    for (const [model, workers] of [
      [freshModel(), twoWorkers],
      [freshLlama(), twoWorkersLlama],
    ] as [GptModel | LlamaModel, DataParallelLearner][]) {
      const { value, grads } = tf.variableGrads(
        () => weightedNllLoss({ model, items, shared, tf, workerIndex: 0 }),
        model.trainableVariables(),
      );
      const one = await createSequentialShardLearner({ lossModule, shardCount: 1 });
      await one.setWeights(model);
      const single = await one.computeGradients({ items, shared });
      // The tape keys gradients by tfjs variable name; the learners by Hugging Face name.
      const inProcess = Object.fromEntries(
        Object.entries(model.namedVariables()).map(([name, variable]) => [
          name,
          grads[variable.name]!,
        ]),
      );
      expect(bitsOf(single.gradients)).toEqual(bitsOf(inProcess));
      expect(single.loss).toBe(value.dataSync()[0]);

      const two = await createSequentialShardLearner({ lossModule, shardCount: 2 });
      await two.setWeights(model);
      const split = await two.computeGradients({ items, shared });
      await workers.setWeights(model);
      const parallel = await workers.computeGradients({ items, shared });
      expect(bitsOf(split.gradients)).toEqual(bitsOf(parallel.gradients));
      expect(split.loss).toBe(parallel.loss);
      expect(split.workerSeconds).toHaveLength(2);
      // Two shards are not one pass: float32 sums differ somewhere, so the split really happened.
      expect(bitsOf(split.gradients)).not.toEqual(bitsOf(single.gradients));
      tf.dispose([value, grads, single.gradients, split.gradients, parallel.gradients]);
      model.dispose();
    }
  });

  it('holds one shard of activations at a time: the peak of live tensors falls with the shard count', async () => {
    const model = freshModel();
    // Sixteen sequences of the model's whole context, so activations dwarf the weights.
    const long: WeightedItem[] = Array.from({ length: 16 }, (_, index) => ({
      tokenIds: Array.from({ length: config.contextLength }, (_, t) => (index * 5 + t * 7) % 40),
      advantage: index % 3 === 0 ? -0.5 : 0.8,
    }));
    const longShared = {
      tokenCount: long.reduce((sum, item) => sum + item.tokenIds.length - 1, 0),
    };
    const peaks: number[] = [];
    for (const shardCount of [1, 4]) {
      const learner = await createSequentialShardLearner({ lossModule, shardCount });
      await learner.setWeights(model);
      const profile = await tf.profile(async () => {
        const { gradients } = await learner.computeGradients({
          items: long,
          shared: longShared,
        });
        tf.dispose(gradients);
      });
      peaks.push(profile.peakBytes);
    }
    const weightBytes = model.parameterCount() * 4;
    const [onePass, fourShards] = peaks as [number, number];
    // Activations (the peak above the weights) shrink to well under half with four shards.
    expect(fourShards - weightBytes).toBeLessThan(0.5 * (onePass - weightBytes));
    model.dispose();
  });

  it('names bad options and misuse', async () => {
    await expect(createSequentialShardLearner({ lossModule, shardCount: 0 })).rejects.toThrow(
      /shardCount/,
    );
    await expect(
      createSequentialShardLearner({
        lossModule: new URL('./shard-gradient.ts', import.meta.url).href,
        shardCount: 2,
      }),
    ).rejects.toThrow(/lossModule.*default export/s);
    const learner = await createSequentialShardLearner({ lossModule, shardCount: 2 });
    await expect(learner.computeGradients({ items, shared })).rejects.toThrow(/setWeights/);
    const model = freshModel();
    await learner.setWeights(model);
    await expect(learner.computeGradients({ items: [], shared })).rejects.toThrow(/batch\.items/);
    model.dispose();
  });
});
