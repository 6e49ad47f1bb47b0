import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from '../backend';
import { createGptModel, type GptModel } from '../gpt-model';
import { createLlamaModel, type LlamaModel } from '../llama/llama-model';
import { createOptimizer, type Optimizer } from '../optimizer';
import { createDataParallelLearner, type DataParallelLearner } from './data-parallel-learner';
import { DataParallelWorkerError } from './data-parallel-worker-error';
import {
  config,
  freshLlama,
  freshModel,
  items,
  llamaConfig,
  lossModule,
  shared,
} from './test-fixtures/sharded-models';
import weightedNllLoss from './test-fixtures/weighted-nll-loss';

function packed(map: tf.NamedTensorMap): Float32Array[] {
  return Object.values(map).map((tensor) => tensor.dataSync() as Float32Array);
}

function expectBitIdentical(actual: Float32Array[], expected: Float32Array[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((values, index) => {
    expect(
      Buffer.from(values.buffer).equals(Buffer.from((expected[index] as Float32Array).buffer)),
    ).toBe(true);
  });
}

async function trainSteps(
  learner: DataParallelLearner,
  model: GptModel | LlamaModel,
  optimizer: Optimizer,
  steps: number,
): Promise<void> {
  for (let step = 0; step < steps; step++) {
    await learner.setWeights(model);
    const { gradients } = await learner.computeGradients({ items, shared });
    optimizer.applyGradients(gradients);
    tf.dispose(gradients);
  }
}

/**
 * The in-process gradient of the whole batch equals one worker's bit for bit
 * and two workers' within float32 rounding (both losses too); returns the
 * gradients' names, which are the model's trainable variables'.
 */
async function expectShardsSumToInProcess(
  model: GptModel | LlamaModel,
  one: DataParallelLearner,
  two: DataParallelLearner,
): Promise<string[]> {
  const { value, grads } = tf.variableGrads(
    () => weightedNllLoss({ model, items, shared, tf, workerIndex: 0 }),
    model.trainableVariables(),
  );
  const inProcess = model
    .trainableVariables()
    .map((variable) => grads[variable.name]?.dataSync() as Float32Array);
  await one.setWeights(model);
  const single = await one.computeGradients({ items, shared });
  expectBitIdentical(packed(single.gradients), inProcess);
  expect(single.loss).toBe(value.dataSync()[0]);
  await two.setWeights(model);
  const split = await two.computeGradients({ items, shared });
  const names = Object.keys(split.gradients);
  expect(names).toEqual(Object.keys(model.namedVariables()));
  packed(split.gradients).forEach((values, index) => {
    const expected = inProcess[index] as Float32Array;
    values.forEach((entry, at) => {
      expect(Math.abs(entry - (expected[at] as number))).toBeLessThan(
        1e-6 + 1e-4 * Math.abs(expected[at] as number),
      );
    });
  });
  // For a LoRA model this also says the frozen base reached the replicas.
  expect(split.loss).toBeCloseTo(value.dataSync()[0] as number, 5);
  expect(split.workerSeconds).toHaveLength(2);
  tf.dispose([value, grads, single.gradients, split.gradients]);
  return names;
}

const makeOptimizer = (model: GptModel | LlamaModel) =>
  createOptimizer({
    learningRate: 3e-3,
    maxGradNorm: 1,
    weightDecay: 0.01,
    variables: model.namedVariables(),
  });

describe('DataParallelLearner', () => {
  let two: DataParallelLearner;
  let one: DataParallelLearner;

  beforeAll(async () => {
    await initializeBackend({ backend: 'wasm', logger: false });
    [two, one] = await Promise.all([
      createDataParallelLearner({ config, lossModule, workerCount: 2 }),
      createDataParallelLearner({ config, lossModule, workerCount: 1 }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([two?.dispose(), one?.dispose()]);
  });

  it('sums the shards to the full-batch gradient: bit-identical with one worker, within float32 with two', async () => {
    const model = freshModel();
    await expectShardsSumToInProcess(model, one, two);
    model.dispose();
  });

  it('trains bit-identically for a fixed worker count and resumes exactly from saved weights and optimizer state', async () => {
    const straight = freshModel();
    const straightOptimizer = makeOptimizer(straight);
    await trainSteps(two, straight, straightOptimizer, 3);
    const again = freshModel();
    const againOptimizer = makeOptimizer(again);
    await trainSteps(two, again, againOptimizer, 2);
    const savedWeights = again.getWeights();
    const savedState = againOptimizer.getState();
    const resumed = freshModel();
    resumed.setWeights(savedWeights);
    const resumedOptimizer = makeOptimizer(resumed);
    resumedOptimizer.setState(savedState);
    await trainSteps(two, resumed, resumedOptimizer, 1);
    const weightsOf = (model: GptModel) =>
      Object.values(model.getWeights()).map((tensor) => tensor.data);
    expectBitIdentical(weightsOf(resumed), weightsOf(straight));
    // And the three steps moved the weights (the test could not pass with a no-op).
    const start = weightsOf(freshModel());
    expect(
      weightsOf(straight).some((values, index) => values.some((v, at) => v !== start[index]?.[at])),
    ).toBe(true);
    for (const model of [straight, again, resumed]) model.dispose();
    for (const optimizer of [straightOptimizer, againOptimizer, resumedOptimizer])
      optimizer.dispose();
  });

  it('fails a step cleanly when a worker throws or dies, and the next step gives the same gradient', async () => {
    const model = freshModel();
    await two.setWeights(model);
    const before = await two.computeGradients({ items, shared });
    const thrown = await two
      .computeGradients({ items, shared: { ...shared, throwOnWorker: 1 } })
      .catch((error: unknown) => error);
    expect(DataParallelWorkerError.isInstance(thrown)).toBe(true);
    expect((thrown as DataParallelWorkerError).workerIndex).toBe(1);
    expect((thrown as Error).message).toMatch(/RangeError: asked to fail/);
    const died = await two
      .computeGradients({ items, shared: { ...shared, exitOnWorker: 0 } })
      .catch((error: unknown) => error);
    expect(DataParallelWorkerError.isInstance(died)).toBe(true);
    expect((died as Error).message).toMatch(/worker 0 failed: exited with code 3/);
    // The dead worker is started again with the last weights; nothing was lost.
    const after = await two.computeGradients({ items, shared });
    expectBitIdentical(packed(after.gradients), packed(before.gradients));
    tf.dispose([before.gradients, after.gradients]);
    model.dispose();
  });

  it('names bad options and misuse', async () => {
    await expect(createDataParallelLearner({ config, lossModule, workerCount: 0 })).rejects.toThrow(
      /workerCount/,
    );
    await expect(one.computeGradients({ items: [], shared })).rejects.toThrow(/batch\.items/);
    const other = createGptModel({ config: { ...config, embeddingSize: 8 } });
    await expect(one.setWeights(other)).rejects.toThrow(/parameterCount/);
    other.dispose();
  });
});

describe('DataParallelLearner with a LoRA Llama model', () => {
  let two: DataParallelLearner;
  let one: DataParallelLearner;

  beforeAll(async () => {
    await initializeBackend({ backend: 'wasm', logger: false });
    const probe = freshLlama();
    const llama = { config: probe.config, lora: probe.lora! };
    probe.dispose();
    [two, one] = await Promise.all([
      createDataParallelLearner({ llama, lossModule, workerCount: 2 }),
      createDataParallelLearner({ llama, lossModule, workerCount: 1 }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([two?.dispose(), one?.dispose()]);
  });

  it('returns only adapter gradients, equal to the in-process gradient (bit-identical with one worker)', async () => {
    const model = freshLlama();
    const names = await expectShardsSumToInProcess(model, one, two);
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((name) => /lora_[AB]/.test(name))).toBe(true);
    model.dispose();
  });

  it('trains the adapters bit-identically for a fixed worker count, resumes exactly, and survives a dead worker', async () => {
    const straight = freshLlama();
    const straightOptimizer = makeOptimizer(straight);
    await trainSteps(two, straight, straightOptimizer, 3);
    const again = freshLlama();
    const againOptimizer = makeOptimizer(again);
    await trainSteps(two, again, againOptimizer, 2);
    const savedAdapters = again.adapterWeights();
    const savedState = againOptimizer.getState();
    // A worker dies between the saved state and the resume: its fresh replica must get the base again.
    const died = await two
      .computeGradients({ items, shared: { ...shared, exitOnWorker: 1 } })
      .catch((error: unknown) => error);
    expect(DataParallelWorkerError.isInstance(died)).toBe(true);
    const resumed = freshLlama();
    resumed.loadAdapterWeights(savedAdapters);
    const resumedOptimizer = makeOptimizer(resumed);
    resumedOptimizer.setState(savedState);
    await trainSteps(two, resumed, resumedOptimizer, 1);
    const adaptersOf = (model: LlamaModel) =>
      Object.values(model.adapterWeights()).map((tensor) => tensor.data);
    expectBitIdentical(adaptersOf(resumed), adaptersOf(straight));
    const start = adaptersOf(freshLlama());
    expect(
      adaptersOf(straight).some((values, index) =>
        values.some((v, at) => v !== start[index]?.[at]),
      ),
    ).toBe(true);
    for (const model of [straight, again, resumed]) model.dispose();
    for (const optimizer of [straightOptimizer, againOptimizer, resumedOptimizer])
      optimizer.dispose();
  });

  it('names a model of another shape, and a learner given both or neither model', async () => {
    const full = createLlamaModel({ config: llamaConfig, seed: 1 });
    await expect(one.setWeights(full)).rejects.toThrow(/parameterCount/);
    full.dispose();
    await expect(
      createDataParallelLearner({ config, llama: { config: freshLlamaConfig() }, lossModule }),
    ).rejects.toThrow(/exactly one of config/);
    await expect(createDataParallelLearner({ lossModule })).rejects.toThrow(
      /exactly one of config/,
    );
  });
});

function freshLlamaConfig(): LlamaModel['config'] {
  const model = createLlamaModel({ config: llamaConfig });
  const { config: value } = model;
  model.dispose();
  return value;
}
