import { InvalidArgumentError, Random, ValidationError } from '@cohort/core';
import {
  createGptModel,
  type Gpt2ConfigInput,
  type GptModel,
  initializeBackend,
  randomGpt2Weights,
  referenceGpt2LogitRows,
  tokenLogProbs,
  type WeightMap,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOnnxGptLearner, learnerRuns } from './onnx-learner';
import {
  centralDifference,
  learnerGptConfig as config,
  expectGradientClose,
  expectGradientsMatch,
  randomSequences,
  randomUpstream,
  upstreamObjective,
} from './test-support/learner-fixtures';

/** Stated tolerances: log-probs and entropies per token, and gradients relative to the largest entry of each weight's gradient. */
const logProbTolerance = 1e-4;
const gradientTolerance = 1e-4;

beforeAll(async () => {
  await initializeBackend();
});

function modelWith(input: Gpt2ConfigInput, seed: number): { model: GptModel; weights: WeightMap } {
  const model = createGptModel({ config: input, seed });
  const weights = randomGpt2Weights({ config: model.config, seed: seed + 1, scale: 0.2 });
  model.setWeights(weights);
  return { model, weights };
}

describe('OnnxLearner (GPT-2) against tfjs autodiff', () => {
  for (const [label, temperature, withEntropy] of [
    ['temperature 1, log-probs only', 1, false],
    ['temperature 0.9 and an entropy term', 0.9, true],
  ] as const) {
    it(`${label}: logp and entropy equal tokenLogProbs, every gradient equals tfjs's`, async () => {
      const { model } = modelWith(config, 5);
      const sequences = randomSequences(model.config.vocabSize, [23, 17, 6], 11);
      const dLogp = randomUpstream(sequences, 12);
      const dEntropy = withEntropy ? randomUpstream(sequences, 13) : undefined;
      const learner = await createOnnxGptLearner({ config: model.config });
      expect(learner.family).toBe('gpt2');
      const variables = model.namedVariables();
      const batch = { sequences, temperature };
      const onnx = await learner.gradients(variables, batch, dLogp, dEntropy);
      const forwardOnly = await learner.logProbs(variables, batch);
      const { value, grads } = tf.variableGrads(() => {
        const output = tokenLogProbs(model, { sequences, temperature, withEntropy });
        output.mask.dispose();
        let loss = output.logProbs.mul(tf.tensor2d(dLogp)).sum();
        if (dEntropy !== undefined)
          loss = loss.add((output.entropy as tf.Tensor2D).mul(tf.tensor2d(dEntropy)).sum());
        return loss as tf.Scalar;
      }, Object.values(variables));
      const expected = tokenLogProbs(model, { sequences, temperature, withEntropy: true });
      const expectedLogp = (await expected.logProbs.data()) as Float32Array;
      const expectedEntropy = (await (expected.entropy as tf.Tensor2D).data()) as Float32Array;
      expect(onnx.shape).toEqual([3, 23]);
      for (let index = 0; index < expectedLogp.length; index++) {
        expect(Math.abs(onnx.logProbs[index]! - expectedLogp[index]!)).toBeLessThan(
          logProbTolerance,
        );
        expect(Math.abs(onnx.entropy[index]! - expectedEntropy[index]!)).toBeLessThan(
          logProbTolerance,
        );
        expect(forwardOnly.logProbs[index]).toBe(onnx.logProbs[index]);
      }
      // The first column and padding hold exactly 0.
      expect(Math.abs(onnx.logProbs[0]!)).toBe(0);
      expect(Math.abs(onnx.logProbs[2 * 23 + 10]!)).toBe(0);
      expect(Object.keys(onnx.gradients).sort()).toEqual(Object.keys(variables).sort());
      await expectGradientsMatch(variables, grads, onnx.gradients, gradientTolerance);
      // Positions past the longest sequence get no gradient.
      const positionGradient = (await onnx.gradients[
        'transformer.wpe.weight'
      ]!.data()) as Float32Array;
      const width = model.config.embeddingSize;
      expect(positionGradient.subarray(23 * width).every((entry) => entry === 0)).toBe(true);
      tf.dispose([value, ...Object.values(grads), ...Object.values(onnx.gradients)]);
      tf.dispose([expected.logProbs, expected.mask, expected.entropy as tf.Tensor]);
      await learner.release();
      model.dispose();
    });
  }
});

describe('OnnxLearner (GPT-2) against float64 finite differences', () => {
  it('temperature 0.8 with an entropy term: sampled entries of every gradient', async () => {
    const tiny: Gpt2ConfigInput = {
      vocabSize: 13,
      contextLength: 12,
      embeddingSize: 8,
      layerCount: 2,
      headCount: 2,
      innerSize: 12,
      layerNormEpsilon: 1e-3,
      eosTokenId: 1,
    };
    const { model, weights } = modelWith(tiny, 7);
    const sequences = randomSequences(13, [9, 5], 21);
    const dLogp = randomUpstream(sequences, 22);
    const dEntropy = randomUpstream(sequences, 24);
    const temperature = 0.8;
    const learner = await createOnnxGptLearner({ config: tiny });
    const { gradients } = await learner.gradients(
      model.namedVariables(),
      { sequences, temperature },
      dLogp,
      dEntropy,
    );
    const random = new Random(23);
    const step = 1e-5;
    for (const { name } of learner.weights) {
      const gradient = (await gradients[name]!.data()) as Float32Array;
      const source = weights[name]!;
      // Float64 copies so that the perturbation is not rounded to float32 (the reference reads any array).
      const data = Float64Array.from(source.data);
      const perturbed: WeightMap = {
        ...weights,
        [name]: { shape: source.shape, data: data as unknown as Float32Array },
      };
      const scale = Math.max(...gradient.map(Math.abs));
      expect(scale, name).toBeGreaterThan(1e-6);
      // The position table's rows 0 .. 8 are the used ones; other weights anywhere.
      const size = name === 'transformer.wpe.weight' ? 9 * 8 : gradient.length;
      for (let sample = 0; sample < 3; sample++) {
        const index = Math.floor(random.uniform(0, size));
        const numeric = centralDifference(data, index, step, () =>
          upstreamObjective(
            (sequence) =>
              referenceGpt2LogitRows({ config: tiny, weights: perturbed, tokenIds: sequence }),
            sequences,
            dLogp,
            { dEntropy, temperature },
          ),
        );
        expect(Math.abs(numeric - gradient[index]!), `${name}[${index}]`).toBeLessThan(
          1e-4 * Math.max(scale, 1e-2),
        );
      }
    }
    tf.dispose(Object.values(gradients));
    await learner.release();
    model.dispose();
  });
});

describe('OnnxLearner runs', () => {
  it.each([
    // Runs [23, 6] and [17]: the second run is padded to 17, not 23.
    { label: 'runs of 2 sequences', split: { sequencesPerRun: 2 }, lengths: [23, 6, 17], seed: 41 },
    // At 50 tokens a run: [23, 6] (46), [17, 20] (40), [11].
    {
      label: 'runs of at most 50 padded tokens',
      split: { tokensPerRun: 50 },
      lengths: [23, 6, 17, 20, 11],
      seed: 44,
    },
  ])(
    "$label, each padded to its own longest, give one run's log-probs, entropies and gradients",
    async ({ split: options, lengths, seed }) => {
      const { model } = modelWith(config, 8);
      const sequences = randomSequences(model.config.vocabSize, lengths, seed);
      const dLogp = randomUpstream(sequences, seed + 1);
      const dEntropy = randomUpstream(sequences, seed + 2);
      const batch = { sequences, temperature: 0.9 };
      const variables = model.namedVariables();
      const whole = await createOnnxGptLearner({ config: model.config });
      const split = await createOnnxGptLearner({ config: model.config, ...options });
      expect(split.sequencesPerRun).toBe(options.sequencesPerRun ?? Number.POSITIVE_INFINITY);
      expect(split.tokensPerRun).toBe(options.tokensPerRun ?? Number.POSITIVE_INFINITY);
      const expected = await whole.gradients(variables, batch, dLogp, dEntropy);
      const actual = await split.gradients(variables, batch, dLogp, dEntropy);
      const forward = await split.logProbs(variables, batch);
      expect(actual.shape).toEqual([lengths.length, 23]);
      for (let index = 0; index < expected.logProbs.length; index++) {
        expect(Math.abs(actual.logProbs[index]! - expected.logProbs[index]!)).toBeLessThan(1e-5);
        expect(Math.abs(actual.entropy[index]! - expected.entropy[index]!)).toBeLessThan(1e-5);
        expect(forward.logProbs[index]).toBe(actual.logProbs[index]);
      }
      // Padding of the short second sequence stays exactly 0.
      expect(actual.logProbs.subarray(23 + 6, 2 * 23).every((value) => value === 0)).toBe(true);
      for (const { name } of split.weights)
        await expectGradientClose(
          name,
          expected.gradients[name]!,
          actual.gradients[name]!,
          gradientTolerance,
        );
      tf.dispose([...Object.values(expected.gradients), ...Object.values(actual.gradients)]);
      await whole.release();
      await split.release();
      model.dispose();
    },
  );
});

describe('learnerRuns', () => {
  it('cuts consecutive runs at sequencesPerRun and at tokensPerRun padded tokens', () => {
    expect(learnerRuns([23, 6, 17], 2, Number.POSITIVE_INFINITY)).toEqual([
      [0, 2],
      [2, 3],
    ]);
    // 2 x 23 = 46 fits 46, 3 x 23 = 69 does not; a run's padded size is its rows x its longest.
    expect(learnerRuns([23, 6, 17, 40, 5], Number.POSITIVE_INFINITY, 46)).toEqual([
      [0, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ]);
    // One sequence longer than the budget still runs, alone.
    expect(learnerRuns([100, 3, 3], 8, 10)).toEqual([
      [0, 1],
      [1, 3],
    ]);
    expect(learnerRuns([5, 5, 5, 5], 3, 100)).toEqual([
      [0, 3],
      [3, 4],
    ]);
    expect(learnerRuns([], 1, 1)).toEqual([]);
  });
});

describe('OnnxLearner (GPT-2) input checks', () => {
  it('bad options, sequences and weights throw errors that name the field', async () => {
    await expect(createOnnxGptLearner({ config: { ...config, headCount: 5 } })).rejects.toSatisfy(
      (error: unknown) => ValidationError.isInstance(error) && /headCount/.test(String(error)),
    );
    await expect(createOnnxGptLearner({ config, tokensPerRun: 0.5 })).rejects.toSatisfy(
      (error: unknown) => ValidationError.isInstance(error) && /tokensPerRun/.test(String(error)),
    );
    await expect(createOnnxGptLearner({ config, sequencesPerRun: 0 })).rejects.toSatisfy(
      (error: unknown) =>
        ValidationError.isInstance(error) && /sequencesPerRun/.test(String(error)),
    );
    await expect(createOnnxGptLearner({ config, intraOpNumThreads: 0 })).rejects.toSatisfy(
      (error: unknown) =>
        ValidationError.isInstance(error) && /intraOpNumThreads/.test(String(error)),
    );
    const { model } = modelWith(config, 3);
    const learner = await createOnnxGptLearner({ config: model.config });
    const variables = model.namedVariables();
    const tooLong = Array.from({ length: 33 }, () => 1);
    await expect(learner.logProbs(variables, { sequences: [[1, 2], tooLong] })).rejects.toThrow(
      /batch\.sequences\[1\]\.length/,
    );
    await expect(learner.logProbs(variables, { sequences: [[1, 37]] })).rejects.toThrow(
      /batch\.sequences\[0\]\[1\]/,
    );
    const { 'transformer.ln_f.bias': _omitted, ...missing } = variables;
    await expect(learner.logProbs(missing, { sequences: [[1, 2]] })).rejects.toThrow(
      /transformer\.ln_f\.bias/,
    );
    await expect(
      learner.gradients(variables, { sequences: [[1, 2, 3]] }, [[0, 1]]),
    ).rejects.toSatisfy(
      (error: unknown) =>
        InvalidArgumentError.isInstance(error) && /dLogp\[0\]\.length/.test(String(error)),
    );
    await learner.release();
    model.dispose();
  });
});
