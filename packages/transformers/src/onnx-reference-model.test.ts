import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, Random } from '@cohort/core';
import {
  createLlamaModel,
  type GptModel,
  GptReferenceModel,
  initializeBackend,
  LlamaReferenceModel,
  randomLlamaWeights,
  referenceGpt2Logits,
  referenceLlamaLogits,
  tokenLogProbs,
} from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logSoftmax } from './logits-math';
import {
  createOnnxReferenceModel,
  type OnnxReferenceModel,
  RefreshableOnnxReferenceModel,
  referenceRuns,
} from './onnx-reference-model';

const modelDirectory = fileURLToPath(
  new URL('../../../apps/agent-trainer/models/support-agent-tiny', import.meta.url),
);
/** Stated tolerance of the engines' float32 difference on one token's log-probability. */
const logProbTolerance = 1e-4;

/** Sequences of different lengths (right padding inside a batch), long enough for position effects. */
function randomSequences(vocabSize: number, lengths: readonly number[], seed: number): number[][] {
  const random = new Random(seed);
  return lengths.map((length) =>
    Array.from({ length }, () => Math.floor(random.uniform(0, vocabSize))),
  );
}

/** `[0, log softmax(z_{t-1} / T)[x_t], ...]` from float64 reference logits rows. */
function logProbsFromRows(
  sequence: readonly number[],
  rows: readonly ArrayLike<number>[],
  temperature: number,
): number[] {
  return sequence.map((id, t) =>
    t === 0 ? 0 : (logSoftmax(rows[t - 1]!, 0, rows[t - 1]!.length, temperature)[id] as number),
  );
}

function largestDifference(a: readonly number[][], b: readonly number[][]): number {
  let max = 0;
  a.forEach((row, i) => {
    expect(row).toHaveLength(b[i]!.length);
    row.forEach((value, t) => {
      max = Math.max(max, Math.abs(value - b[i]![t]!));
    });
  });
  return max;
}

let gptModel: GptModel;
let gptReference: OnnxReferenceModel;

beforeAll(async () => {
  await initializeBackend({ backend: 'wasm', logger: false });
  ({
    policy: { model: gptModel },
  } = await loadGptPolicy(modelDirectory));
  gptReference = await createOnnxReferenceModel({ model: gptModel, batchSize: 3 });
});
afterAll(async () => {
  await gptReference?.dispose();
  gptModel?.dispose();
});

describe('referenceRuns', () => {
  it('groups consecutive sequences up to batchSize rows and rows x longest^2 token pairs, one sequence at least', () => {
    // 3 x 10^2 = 300 <= 300; a fourth row would be 400.
    expect(referenceRuns([10, 10, 10, 10, 10], 16, 300)).toEqual([
      [0, 3],
      [3, 5],
    ]);
    // The longest so far counts: [4, 9] is 2 x 81 = 162 > 100, so 4 runs alone; 20 exceeds the budget alone.
    expect(referenceRuns([4, 9, 20, 3, 3], 16, 100)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 5],
    ]);
    expect(referenceRuns([5, 5, 5, 5, 5], 2, 10_000)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(referenceRuns([], 4, 100)).toEqual([]);
  });

  it('scores long sequences in fewer rows per pass to the same values within float32 rounding', async () => {
    const sequences = randomSequences(gptModel.config.vocabSize, [37, 5, 90, 1, 64], 12);
    const oneByOne = await createOnnxReferenceModel({ model: gptModel, maxTokenPairsPerRun: 1 });
    try {
      const together = await gptReference.referenceLogProbs({ sequences });
      const alone = await oneByOne.referenceLogProbs({ sequences });
      expect(largestDifference(alone, together)).toBeLessThan(1e-5);
    } finally {
      await oneByOne.dispose();
    }
  });
});

describe('OnnxReferenceModel', () => {
  it('scores a GPT-2 reference as float64 GPT-2 and the tfjs reference do, across batches and temperatures', async () => {
    const { vocabSize } = gptModel.config;
    const sequences = randomSequences(vocabSize, [37, 5, 90, 1, 64], 11);
    const weights = gptModel.getWeights();
    const tfjsReference = new GptReferenceModel({ model: gptModel, batchSize: 16 });
    const float64Rows = sequences.map((sequence) => {
      const logits = referenceGpt2Logits({ config: gptModel.config, weights, tokenIds: sequence });
      return sequence.map((_, t) => logits.subarray(t * vocabSize, (t + 1) * vocabSize));
    });
    for (const temperature of [1, 0.7]) {
      const onnx = await gptReference.referenceLogProbs({ sequences, temperature });
      const float64 = sequences.map((sequence, row) =>
        logProbsFromRows(sequence, float64Rows[row]!, temperature),
      );
      const tfjs = await tfjsReference.referenceLogProbs({ sequences, temperature });
      expect(largestDifference(onnx, float64)).toBeLessThan(logProbTolerance);
      expect(largestDifference(onnx, tfjs)).toBeLessThan(logProbTolerance);
      expect(onnx[3]).toEqual([0]);
    }
    // Five sequences in batches of 3: an exported graph per batch of another width gives the same values.
    expect(gptReference.exportCount).toBe(1);
  });

  it('scores the base of a LoRA Llama model with its adapters off, as the tfjs reference does', async () => {
    const config = {
      modelType: 'qwen2' as const,
      vocabSize: 96,
      hiddenSize: 32,
      intermediateSize: 48,
      layerCount: 2,
      headCount: 4,
      keyValueHeadCount: 2,
      contextLength: 128,
      eosTokenId: 1,
      bosTokenId: 0,
    };
    const model = createLlamaModel({ config, lora: { rank: 4, alpha: 8 }, seed: 3 });
    const base = randomLlamaWeights({ config: model.config, seed: 5 });
    model.setWeights(base);
    for (const [name, variable] of Object.entries(model.namedVariables())) {
      if (name.includes('lora_B'))
        variable.assign(tf.randomNormal(variable.shape, 0, 0.3, 'float32', 9));
    }
    const reference = await createOnnxReferenceModel({ model });
    try {
      expect(reference).not.toBeInstanceOf(RefreshableOnnxReferenceModel);
      const sequences = randomSequences(config.vocabSize, [70, 12, 33], 4);
      const onnx = await reference.referenceLogProbs({ sequences, temperature: 0.9 });
      const float64 = sequences.map((sequence) =>
        logProbsFromRows(
          sequence,
          referenceLlamaLogits({ config: model.config, weights: base, tokenIds: sequence }),
          0.9,
        ),
      );
      const tfjs = await new LlamaReferenceModel({ model }).referenceLogProbs({
        sequences,
        temperature: 0.9,
      });
      expect(largestDifference(onnx, float64)).toBeLessThan(logProbTolerance);
      expect(largestDifference(onnx, tfjs)).toBeLessThan(logProbTolerance);
      // The adapters are non-zero, so the policy (adapters on) scores differently: 'off' is not a no-op.
      const policyLogProbs = tf.tidy(
        () =>
          tokenLogProbs(model, {
            sequences,
            temperature: 0.9,
            padTokenId: 1,
          }).logProbs.arraySync() as number[][],
      );
      expect(
        largestDifference(
          onnx,
          policyLogProbs.map((row, i) => row.slice(0, sequences[i]!.length)),
        ),
      ).toBeGreaterThan(0.05);
    } finally {
      await reference.dispose();
      model.dispose();
    }
  });

  it('exports again after a reference refresh replaces the weights, and scores the new weights', async () => {
    expect(gptReference).toBeInstanceOf(RefreshableOnnxReferenceModel);
    const refreshable = gptReference as RefreshableOnnxReferenceModel;
    const original = refreshable.getWeights();
    const sequences = randomSequences(gptModel.config.vocabSize, [40, 22], 8);
    const before = await refreshable.referenceLogProbs({ sequences });
    try {
      const moved = Object.fromEntries(
        Object.entries(original).map(([name, { shape, data }]) => [
          name,
          { shape, data: data.map((value, index) => value + 0.05 * Math.sin(index + 1)) },
        ]),
      );
      refreshable.setWeights(moved);
      const after = await refreshable.referenceLogProbs({ sequences });
      expect(refreshable.exportCount).toBe(2);
      expect(largestDifference(after, before)).toBeGreaterThan(0.01);
      const tfjs = await new GptReferenceModel({ model: gptModel }).referenceLogProbs({
        sequences,
      });
      expect(largestDifference(after, tfjs)).toBeLessThan(logProbTolerance);
    } finally {
      refreshable.setWeights(original);
    }
    expect(largestDifference(await refreshable.referenceLogProbs({ sequences }), before)).toBe(0);
  });

  it('refuses bad input with typed errors that name the field and value', async () => {
    const { vocabSize, contextLength } = gptModel.config;
    const cases: [Promise<unknown>, string][] = [
      [
        gptReference.referenceLogProbs({
          sequences: [
            [1, 2],
            [3, vocabSize],
          ],
        }),
        'sequences[1][1]',
      ],
      [gptReference.referenceLogProbs({ sequences: [[1, -1]] }), 'sequences[0][1]'],
      [
        gptReference.referenceLogProbs({
          sequences: [new Array<number>(contextLength + 1).fill(2)],
        }),
        'sequences[0]',
      ],
      [gptReference.referenceLogProbs({ sequences: [[1, 2]], temperature: 0 }), 'temperature'],
      [gptReference.referenceLogProbs({ sequences: [[]] }), 'sequences[0]'],
    ];
    for (const [promise, argument] of cases) {
      const error = await promise.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
    await expect(createOnnxReferenceModel({ model: gptModel, batchSize: 0 })).rejects.toThrow(
      /batchSize/,
    );
    await expect(
      createOnnxReferenceModel({ model: gptModel, maxTokenPairsPerRun: 0.5 }),
    ).rejects.toThrow(/maxTokenPairsPerRun/);
    await expect(
      createOnnxReferenceModel({ model: gptModel, padTokenId: vocabSize }),
    ).rejects.toThrow(/padTokenId/);
    expect(await gptReference.referenceLogProbs({ sequences: [] })).toEqual([]);
  });
});
