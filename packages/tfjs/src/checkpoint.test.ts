import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CheckpointError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initializeBackend } from './backend';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { createGptModel, type GptModel } from './gpt-model';
import { createOptimizer, type Optimizer } from './optimizer';

const config = { vocabSize: 9, contextLength: 6, embeddingSize: 4, layerCount: 1, headCount: 2 };

describe('checkpoints', () => {
  let root: string;
  let model: GptModel;
  let optimizer: Optimizer;
  beforeAll(async () => {
    await initializeBackend({ backend: 'wasm', logger: false });
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'cohort-checkpoint-'));
    model = createGptModel({ config, seed: 1 });
    optimizer = createOptimizer({
      type: 'adamw',
      learningRate: 0.01,
      variables: model.namedVariables(),
    });
    const grads = Object.fromEntries(
      model.trainableVariables().map((variable) => [variable.name, tf.onesLike(variable)]),
    );
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
  });
  afterAll(async () => {
    optimizer.dispose();
    model.dispose();
    await fs.rm(root, { recursive: true, force: true });
  });

  const save = async (name: string) => {
    const random = new Random(5);
    random.float();
    const directory = path.join(root, name);
    await saveCheckpoint(directory, {
      weights: model.getWeights(),
      optimizerState: optimizer.getState(),
      rngState: random.getState(),
      metadata: { config: model.config, step: 1 },
    });
    return { directory, random };
  };

  it('round-trips weights, optimizer state, RNG state and metadata exactly, replacing an older checkpoint', async () => {
    const { directory, random } = await save('a');
    await save('a');
    const loaded = await loadCheckpoint(directory, {
      expect: { weights: model.getWeights(), metadata: { config: model.config } },
    });
    expect(loaded.weights).toEqual(model.getWeights());
    expect(loaded.optimizerState).toEqual(optimizer.getState());
    expect(Random.fromState(loaded.rngState as never).float()).toBe(random.float());
    expect(loaded.metadata).toMatchObject({ step: 1 });
    const restored = createGptModel({ config, seed: 2 });
    restored.setWeights(loaded.weights);
    expect(restored.getWeights()).toEqual(model.getWeights());
    restored.dispose();
    const entries = await fs.readdir(root);
    expect(entries.filter((entry) => entry.includes('.tmp-') || entry.includes('.old-'))).toEqual(
      [],
    );
    expect((await fs.readdir(directory)).sort()).toEqual([
      'manifest.json',
      'optimizer.bin',
      'state.json',
      'weights.bin',
    ]);
  });

  it('refuses truncated and damaged files, naming the file', async () => {
    const { directory } = await save('damaged');
    const weights = path.join(directory, 'weights.bin');
    const bytes = await fs.readFile(weights);
    await fs.writeFile(weights, bytes.subarray(0, bytes.length - 4));
    await expect(loadCheckpoint(directory)).rejects.toThrow(/weights\.bin.*truncated/);
    const flipped = Buffer.from(bytes);
    flipped[10] = (flipped[10] as number) ^ 0xff;
    await fs.writeFile(weights, flipped);
    const error = await loadCheckpoint(directory).catch((caught: unknown) => caught);
    expect(CheckpointError.isInstance(error)).toBe(true);
    expect(String((error as Error).message)).toMatch(/SHA-256/);
    expect((error as CheckpointError).message).toContain('weights.bin');
    await fs.writeFile(path.join(directory, 'manifest.json'), '{"format": "cohort-tfjs-che');
    await expect(loadCheckpoint(directory)).rejects.toThrow(/manifest\.json/);
    await fs.rm(path.join(directory, 'manifest.json'));
    await expect(loadCheckpoint(directory)).rejects.toThrow(/manifest/);
    const other = await save('missing-optimizer');
    await fs.rm(path.join(other.directory, 'optimizer.bin'));
    await expect(loadCheckpoint(other.directory)).rejects.toThrow(/optimizer\.bin.*missing/);
  });

  it('refuses a checkpoint of a different model or config', async () => {
    const { directory } = await save('mismatch');
    const bigger = createGptModel({ config: { ...config, embeddingSize: 8 }, seed: 3 });
    await expect(
      loadCheckpoint(directory, { expect: { weights: bigger.getWeights() } }),
    ).rejects.toThrow(/weights\.bin.*transformer\.wte\.weight.*\[9, 4\].*\[9, 8\]/);
    const deeper = createGptModel({ config: { ...config, layerCount: 2 }, seed: 3 });
    await expect(
      loadCheckpoint(directory, { expect: { weights: deeper.getWeights() } }),
    ).rejects.toThrow(/no tensor "transformer\.h\.1/);
    await expect(
      loadCheckpoint(directory, { expect: { metadata: { config: bigger.config } } }),
    ).rejects.toThrow(/state\.json.*config/);
    bigger.dispose();
    deeper.dispose();
  });
});
