import { Random } from '@cohort/core';
import {
  createGptModel,
  createLlamaModel,
  type GptModel,
  initializeBackend,
  type LlamaModel,
  randomGpt2Weights,
  randomLlamaWeights,
  tokenLogProbs,
} from '@cohort/tfjs';
import { createSequentialShardLearner } from '@cohort/tfjs/node';
import {
  type PolicyShardExtras,
  type PolicyShardItem,
  type PolicyShardShared,
  policyShardLossModule,
} from '@cohort/trainer';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createOnnxPolicyLearner } from './onnx-policy-learner';

const llamaConfig = {
  vocabSize: 31,
  hiddenSize: 16,
  intermediateSize: 24,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 2,
  contextLength: 64,
  tieWordEmbeddings: true,
  eosTokenId: 0,
};
/** Every bias and gain random (randomGpt2Weights), context 32 for sequences up to 17. */
const gptConfig = {
  vocabSize: 31,
  contextLength: 32,
  embeddingSize: 16,
  layerCount: 2,
  headCount: 4,
  eosTokenId: 0,
};

/** A model of the family with random weights (seed), and one of the same family but another width. */
function familyModels(
  family: 'llama' | 'gpt2',
  seed: number,
): { model: GptModel | LlamaModel; wider: () => GptModel | LlamaModel } {
  if (family === 'llama') {
    const model = createLlamaModel({ config: llamaConfig, seed });
    model.setWeights(randomLlamaWeights({ config: model.config, seed: seed + 1, scale: 0.2 }));
    return {
      model,
      wider: () => createLlamaModel({ config: { ...llamaConfig, hiddenSize: 32 } }),
    };
  }
  const model = createGptModel({ config: gptConfig, seed });
  model.setWeights(randomGpt2Weights({ config: model.config, seed: seed + 1, scale: 0.2 }));
  return { model, wider: () => createGptModel({ config: { ...gptConfig, embeddingSize: 32 } }) };
}

/** Same structure, every number within `tolerance` (relative to 1 + |expected|). */
function expectNumbersClose(
  actual: unknown,
  expected: unknown,
  tolerance: number,
  path: string,
): void {
  if (typeof expected === 'number') {
    expect(typeof actual, path).toBe('number');
    expect(Math.abs((actual as number) - expected), path).toBeLessThanOrEqual(
      tolerance * (1 + Math.abs(expected)),
    );
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    const keys = Object.keys(expected);
    expect(Object.keys(actual as object), path).toEqual(keys);
    for (const key of keys) {
      expectNumbersClose(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        tolerance,
        `${path}.${key}`,
      );
    }
    return;
  }
  expect(actual, path).toEqual(expected);
}

/** Each gradient within `tolerance` of `expected`'s, relative to its largest entry (which must not vanish). */
function expectGradientsWithin(
  actual: tf.NamedTensorMap,
  expected: tf.NamedTensorMap,
  tolerance: number,
): void {
  for (const [name, gradient] of Object.entries(expected)) {
    const x = gradient.dataSync() as Float32Array;
    const y = actual[name]!.dataSync() as Float32Array;
    const scale = Math.max(...x.map(Math.abs));
    expect(scale, name).toBeGreaterThan(1e-6);
    let largest = 0;
    for (let index = 0; index < x.length; index++)
      largest = Math.max(largest, Math.abs(x[index]! - y[index]!));
    expect(largest / scale, name).toBeLessThan(tolerance);
  }
}

/** A GRPO minibatch of 4 rows of lengths 9-17 with non-trivial ratios, advantages and KL terms. */
function grpoMinibatch(objective: PolicyShardShared['objective']): {
  items: PolicyShardItem[];
  shared: PolicyShardShared;
} {
  const random = new Random(3);
  const items: PolicyShardItem[] = [17, 11, 14, 9].map((length, row) => {
    const sequence = Array.from({ length }, () => random.int(1, 30));
    const lossMask = sequence.map((_, t) => (t >= 4 ? 1 : 0));
    return {
      sequence,
      // Old and reference log-probs near plausible values, so the ratio and the KL term are not trivial.
      oldLogProbs: sequence.map((_, t) => (t === 0 ? 0 : -3.4 + random.uniform(-0.3, 0.3))),
      advantages: sequence.map(() => (row % 2 === 0 ? 1 : -0.7)),
      lossMask,
      refLogProbs: sequence.map((_, t) => (t === 0 ? 0 : -3.4 + random.uniform(-0.3, 0.3))),
      oldFromForward: row === 1,
    };
  });
  const shared: PolicyShardShared = {
    objective,
    klCoefficient: 0.05,
    temperature: 0.9,
    padTokenId: 0,
    rowCount: items.length,
    nonEmptyRowCount: items.length,
    tokenCount: items.reduce((sum, item) => sum + item.lossMask.reduce((a, b) => a + b, 0), 0),
    maxLength: 17,
    withEntropy: true,
  };
  return { items, shared };
}

describe('OnnxPolicyLearner', () => {
  it.each([
    ['llama', 'with an entropy bonus', { preset: 'grpo', entropyCoefficient: 0.01 }],
    ['llama', 'without an entropy term', { preset: 'grpo' }],
    ['gpt2', 'with an entropy bonus', { preset: 'grpo', entropyCoefficient: 0.01 }],
    ['gpt2', 'without an entropy term', { preset: 'grpo' }],
  ] as const)(
    "%s: gives the tfjs shard learner's loss, metrics, per-token values and gradients for a GRPO minibatch %s",
    async (family, _label, objective) => {
      await initializeBackend();
      const { model, wider: widerModel } = familyModels(family, 1);
      const { items, shared } = grpoMinibatch(objective);
      const tfjsLearner = await createSequentialShardLearner({
        lossModule: policyShardLossModule(),
        shardCount: 1,
      });
      await tfjsLearner.setWeights(model);
      const expected = await tfjsLearner.computeGradients({ items, shared });
      const onnxLearner = await createOnnxPolicyLearner({ model, padTokenId: 0 });
      await onnxLearner.setWeights(model);
      const actual = await onnxLearner.computeGradients({ items, shared });

      expect(Math.abs(actual.loss - expected.loss)).toBeLessThan(1e-5);
      expect(Object.keys(actual.metrics).sort()).toEqual(Object.keys(expected.metrics).sort());
      for (const [name, value] of Object.entries(expected.metrics))
        expect(Math.abs(actual.metrics[name]! - value), name).toBeLessThan(1e-4);
      const [actualExtras] = actual.extras as PolicyShardExtras[];
      const [expectedExtras] = expected.extras as PolicyShardExtras[];
      expect(actualExtras!.logProbRows[0]).toBeNull();
      for (const [t, value] of actualExtras!.logProbRows[1]!.entries())
        expect(Math.abs(value - expectedExtras!.logProbRows[1]![t]!)).toBeLessThan(1e-4);
      for (const [r, row] of actualExtras!.entropyRows!.entries())
        for (const [t, value] of row.entries())
          expect(Math.abs(value - expectedExtras!.entropyRows![r]![t]!)).toBeLessThan(1e-4);
      expect(Object.keys(actual.gradients).sort()).toEqual(Object.keys(expected.gradients).sort());
      expectGradientsWithin(actual.gradients, expected.gradients, 1e-3);
      tf.dispose([...Object.values(actual.gradients), ...Object.values(expected.gradients)]);
      // Another model of the same config is followed; one of another config is refused.
      const { model: other } = familyModels(family, 9);
      await onnxLearner.setWeights(other);
      const followed = await onnxLearner.computeGradients({ items, shared });
      expect(Math.abs(followed.loss - actual.loss)).toBeGreaterThan(1e-6);
      tf.dispose(Object.values(followed.gradients));
      const wider = widerModel();
      await expect(onnxLearner.setWeights(wider)).rejects.toThrow(/model/);
      // A model of the other family is refused too.
      const { model: stranger } = familyModels(family === 'llama' ? 'gpt2' : 'llama', 4);
      await expect(onnxLearner.setWeights(stranger)).rejects.toThrow(/model/);
      stranger.dispose();
      other.dispose();
      wider.dispose();
      await onnxLearner.dispose();
      await tfjsLearner.dispose();
      model.dispose();
    },
  );

  it.each(['llama', 'gpt2'] as const)(
    '%s with 2 workers (an ONNX learner pool): the loss and per-token values of one learner, its gradients within float32 rounding',
    async (family) => {
      await initializeBackend();
      const { model } = familyModels(family, 2);
      const { items, shared } = grpoMinibatch({ preset: 'grpo', entropyCoefficient: 0.01 });
      const single = await createOnnxPolicyLearner({ model, padTokenId: 0 });
      const pooled = await createOnnxPolicyLearner({ model, padTokenId: 0, workers: 2 });
      try {
        const expected = await single.computeGradients({ items, shared });
        const actual = await pooled.computeGradients({ items, shared });
        // The pool's workers run their shares several sequences a run (one learner runs one at a
        // time), so the forward values agree within float32 rounding, not bit for bit.
        expectNumbersClose(actual.loss, expected.loss, 1e-6, 'loss');
        expectNumbersClose(actual.metrics, expected.metrics, 1e-6, 'metrics');
        expectNumbersClose(actual.extras, expected.extras, 1e-6, 'extras');
        expectGradientsWithin(actual.gradients, expected.gradients, 1e-5);
        tf.dispose([...Object.values(actual.gradients), ...Object.values(expected.gradients)]);
      } finally {
        await single.dispose();
        await pooled.dispose();
        model.dispose();
      }
    },
  );

  it.each(['llama', 'gpt2'] as const)(
    "%s: scoreLogProbs gives the learner's own forward values, within float32 rounding of tfjs's",
    async (family) => {
      await initializeBackend();
      const { model } = familyModels(family, 4);
      const { items, shared } = grpoMinibatch({ preset: 'grpo' });
      const learner = await createOnnxPolicyLearner({ model, padTokenId: 0 });
      try {
        const sequences = items.map((item) => item.sequence);
        const scored = await learner.scoreLogProbs(sequences, shared.temperature);
        expect(scored.map((row) => row.length)).toEqual(sequences.map((row) => row.length));
        // The learner's forward pass inside computeGradients (it returns the rows that take their
        // old log-probs from it, here row 1): the same bits.
        const reply = await learner.computeGradients({ items, shared });
        const rows = (reply.extras as PolicyShardExtras[]).flatMap((extra) => extra.logProbRows);
        expect(rows[1]).toBeTruthy();
        expect(scored[1]).toEqual(rows[1]!.slice(0, scored[1]!.length));
        tf.dispose(Object.values(reply.gradients));
        const expected = tf.tidy(() => {
          const output = tokenLogProbs(model, { sequences, temperature: shared.temperature });
          return output.logProbs.arraySync() as number[][];
        });
        scored.forEach((row, index) => {
          expect(row[0]).toBe(0);
          row.forEach((value, t) => {
            expect(Math.abs(value - expected[index]![t]!)).toBeLessThan(1e-4);
          });
        });
      } finally {
        await learner.dispose();
        model.dispose();
      }
    },
  );
});
