import { InvalidArgumentError, Random } from '@cohort/core';
import { MockTokenizer } from '@cohort/core/test';
import { createLlamaModel, initializeBackend, LlamaPolicy, readSafetensors } from '@cohort/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyPolicySnapshot, encodePolicySnapshot } from './policy-snapshot';

const tokenizer = new MockTokenizer();
const config = {
  vocabSize: tokenizer.vocabSize,
  hiddenSize: 32,
  intermediateSize: 48,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 2,
};
const lora = (seed: number) => ({ rank: 4, alpha: 8, seed });

function logProbs(policy: LlamaPolicy, sequences: number[][]): number[] {
  const { logProbs } = policy.tokenLogProbs({ sequences });
  const values = Array.from(logProbs.dataSync());
  logProbs.dispose();
  return values;
}

describe('policy snapshots', () => {
  beforeAll(async () => {
    await initializeBackend({ logger: () => {} });
  });

  it('a LoRA policy travels as its adapters only, and a worker with the same base samples exactly like the learner', () => {
    const learner = new LlamaPolicy({
      model: createLlamaModel({ config, seed: 3, lora: lora(1) }),
      tokenizer,
    });
    // Trained adapters: B is no longer zero, so the adapters change the outputs.
    const random = new Random(7);
    const trained = Object.fromEntries(
      Object.entries(learner.getWeights()).map(([name, tensor]) => [
        name,
        { shape: tensor.shape, data: tensor.data.map(() => random.normal(0, 0.2)) },
      ]),
    );
    learner.setWeights(trained);
    learner.version = 5;
    const snapshot = encodePolicySnapshot(learner);
    expect(snapshot.kind).toBe('adapter');
    expect(snapshot.version).toBe(5);
    const { weights, metadata } = readSafetensors(snapshot.bytes);
    expect(Object.keys(weights).sort()).toEqual(Object.keys(trained).sort());
    expect(Object.keys(weights).every((name) => name.includes('lora'))).toBe(true);
    expect(metadata).toMatchObject({ kind: 'adapter', version: '5' });
    const fullBytes = Object.values(learner.model.getWeights()).reduce(
      (sum, tensor) => sum + tensor.data.length * 4,
      0,
    );
    expect(snapshot.bytes.length).toBeLessThan(fullBytes / 3);

    // The worker built the same base, with other adapters (its own seed).
    const worker = new LlamaPolicy({
      model: createLlamaModel({ config, seed: 3, lora: lora(99) }),
      tokenizer,
    });
    const sequences = [
      [1, 5, 9, 14, 20, 3, 7, 30, 31, 2, 8, 11],
      [4, 6, 2, 19, 40],
    ];
    expect(logProbs(worker, sequences)).not.toEqual(logProbs(learner, sequences));
    applyPolicySnapshot(worker, snapshot);
    expect(worker.version).toBe(5);
    expect(logProbs(worker, sequences)).toEqual(logProbs(learner, sequences));
  });

  it('a fully trained policy travels as every weight; a snapshot of the other kind is refused by name', () => {
    const full = new LlamaPolicy({ model: createLlamaModel({ config, seed: 3 }), tokenizer });
    const snapshot = encodePolicySnapshot(full);
    expect(snapshot.kind).toBe('full');
    expect(Object.keys(readSafetensors(snapshot.bytes).weights).sort()).toEqual(
      Object.keys(full.model.getWeights()).sort(),
    );
    const withAdapters = new LlamaPolicy({
      model: createLlamaModel({ config, seed: 3, lora: lora(1) }),
      tokenizer,
    });
    expect(() => applyPolicySnapshot(withAdapters, snapshot)).toThrow(InvalidArgumentError);
    expect(() => applyPolicySnapshot(full, encodePolicySnapshot(withAdapters))).toThrow(
      /snapshot\.kind = "?adapter"?/,
    );
  });
});
