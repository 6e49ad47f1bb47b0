import { InvalidArgumentError, Random, ValidationError } from '@cohort/core';
import {
  createLlamaModel,
  initializeBackend,
  type LlamaConfigInput,
  type LlamaModel,
  loraTargetModules,
  parseLlamaConfig,
  randomLlamaWeights,
  referenceLlamaLogits,
  tokenLogProbs,
  type WeightMap,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOnnxLlamaLearner, defaultLearnerMemoryArena } from './onnx-learner';
import {
  centralDifference,
  expectGradientsMatch,
  randomSequences,
  randomUpstream,
  untiedLlamaConfig as untiedConfig,
  upstreamObjective,
} from './test-support/learner-fixtures';

/** Stated tolerances: log-probs per token, and gradients relative to the largest entry of each weight's gradient. */
const logProbTolerance = 1e-4;
const gradientTolerance = 1e-4;

beforeAll(async () => {
  await initializeBackend();
});

function modelWith(
  config: LlamaConfigInput,
  seed: number,
): { model: LlamaModel; weights: WeightMap } {
  const model = createLlamaModel({ config, seed });
  const weights = randomLlamaWeights({ config: model.config, seed: seed + 1, scale: 0.2 });
  model.setWeights(weights);
  return { model, weights };
}

/** tfjs autodiff of `sum(dLogp * logp)` over `variables`, and `tokenLogProbs`' values. */
async function tfjsAutodiff(
  model: LlamaModel,
  variables: Record<string, tf.Variable>,
  sequences: number[][],
  dLogp: number[][],
): Promise<{ grads: tf.NamedTensorMap; expected: Float32Array }> {
  const { value, grads } = tf.variableGrads(() => {
    const output = tokenLogProbs(model, { sequences });
    output.mask.dispose();
    return output.logProbs.mul(tf.tensor2d(dLogp)).sum() as tf.Scalar;
  }, Object.values(variables));
  const expectedLogp = tokenLogProbs(model, { sequences });
  const expected = (await expectedLogp.logProbs.data()) as Float32Array;
  tf.dispose([value, expectedLogp.logProbs, expectedLogp.mask]);
  return { grads, expected };
}

/** Tied head, no biases, linear RoPE scaling, one key/value head shared by 4 query heads. */
const tiedConfig: LlamaConfigInput = {
  vocabSize: 29,
  hiddenSize: 16,
  intermediateSize: 20,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 1,
  contextLength: 64,
  ropeTheta: 100,
  ropeScaling: { type: 'linear', factor: 2 },
  tieWordEmbeddings: true,
  eosTokenId: 1,
};

/**
 * Qwen3: per-head q/k RMSNorms before RoPE, a head size (6) other than width / heads (4),
 * untied, llama3 RoPE scaling over 23 positions (original context 16), GQA 4/2.
 */
const qwen3Config: LlamaConfigInput = {
  ...untiedConfig,
  modelType: 'qwen3',
  headSize: 6,
  queryKeyNorm: true,
  queryKeyValueBias: false,
  outputBias: false,
  mlpBias: false,
};

describe('OnnxLlamaLearner against tfjs autodiff', () => {
  for (const [label, config] of [
    ['untied, biased, llama3 RoPE, GQA 4/2', untiedConfig],
    ['tied, linear RoPE, GQA 4/1', tiedConfig],
    ['Qwen3: q/k norms, head size 6', qwen3Config],
  ] as const) {
    it(`${label}: logp equals tokenLogProbs and every gradient equals tfjs's`, async () => {
      const { model } = modelWith(config, 5);
      const sequences = randomSequences(model.config.vocabSize, [23, 17, 6], 11);
      const dLogp = randomUpstream(sequences, 12);
      const learner = await createOnnxLlamaLearner({ config: model.config });
      const onnx = await learner.gradients(model.namedVariables(), { sequences }, dLogp);
      const forwardOnly = await learner.logProbs(model.namedVariables(), { sequences });
      const variables = model.namedVariables();
      const names = Object.keys(variables);
      const { grads, expected } = await tfjsAutodiff(model, variables, sequences, dLogp);
      expect(onnx.shape).toEqual([3, 23]);
      for (let index = 0; index < expected.length; index++) {
        expect(
          Math.abs((onnx.logProbs[index] as number) - (expected[index] as number)),
        ).toBeLessThan(logProbTolerance);
        expect(forwardOnly.logProbs[index]).toBe(onnx.logProbs[index]);
      }
      // Padding and the first column hold exactly 0.
      expect(Math.abs(onnx.logProbs[0]!)).toBe(0);
      expect(Math.abs(onnx.logProbs[2 * 23 + 10]!)).toBe(0);
      expect(Object.keys(onnx.gradients).sort()).toEqual([...names].sort());
      await expectGradientsMatch(variables, grads, onnx.gradients, gradientTolerance);
      tf.dispose([...Object.values(grads), ...Object.values(onnx.gradients)]);
      await learner.release();
      model.dispose();
    });
  }
});

/** The upstream objective in float64 from the independent `referenceLlamaLogits`. */
function referenceObjective(
  config: LlamaConfigInput,
  weights: WeightMap,
  sequences: readonly number[][],
  dLogp: readonly number[][],
  extra: { dEntropy?: readonly number[][]; temperature?: number } = {},
): number {
  return upstreamObjective(
    (sequence) => referenceLlamaLogits({ config, weights, tokenIds: sequence }),
    sequences,
    dLogp,
    extra,
  );
}

describe('OnnxLlamaLearner against float64 finite differences', () => {
  for (const [tie, base] of [
    [false, untiedConfig],
    [true, tiedConfig],
    [false, qwen3Config],
  ] as const) {
    const label =
      base === qwen3Config
        ? 'Qwen3 q/k norms, temperature 0.8 and an entropy term'
        : tie
          ? 'tied'
          : 'untied, temperature 0.8 and an entropy term';
    it(`${label}: sampled entries of every gradient`, async () => {
      const config: LlamaConfigInput = {
        ...base,
        vocabSize: 13,
        hiddenSize: 8,
        intermediateSize: 12,
        headCount: 2,
        keyValueHeadCount: 1,
      };
      const { model, weights } = modelWith(config, 7);
      const parsed = parseLlamaConfig(model.config);
      const sequences = randomSequences(parsed.vocabSize, [9, 5], 21);
      const dLogp = randomUpstream(sequences, 22);
      // The untied case also runs at a temperature with an entropy term.
      const extra = tie ? {} : { temperature: 0.8, dEntropy: randomUpstream(sequences, 24) };
      const learner = await createOnnxLlamaLearner({ config: parsed });
      const { gradients } = await learner.gradients(
        model.namedVariables(),
        { sequences, ...(extra.temperature ? { temperature: extra.temperature } : {}) },
        dLogp,
        extra.dEntropy,
      );
      const random = new Random(23);
      const step = 1e-5;
      for (const { name, shape } of learner.weights) {
        const gradient = (await gradients[name]!.data()) as Float32Array;
        const source = weights[name]!;
        // Float64 copies so that the perturbation is not rounded to float32 (the reference reads any array).
        const data = Float64Array.from(source.data);
        const perturbed: WeightMap = {
          ...weights,
          [name]: { shape: source.shape, data: data as unknown as Float32Array },
        };
        const scale = Math.max(...gradient.map(Math.abs));
        for (let sample = 0; sample < 3; sample++) {
          const index = Math.floor(random.uniform(0, gradient.length));
          // namedVariables keeps linear weights [in, out]; the reference reads Hugging Face's [out, in].
          const transposed = shape.length === 2 && name !== 'model.embed_tokens.weight';
          const [rows, columns] = shape as [number, number];
          const sourceIndex = transposed
            ? (index % columns) * rows + Math.floor(index / columns)
            : index;
          const numeric = centralDifference(data, sourceIndex, step, () =>
            referenceObjective(parsed, perturbed, sequences, dLogp, extra),
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
  }
});

describe('OnnxLlamaLearner with LoRA adapters', () => {
  const lora = {
    rank: 3,
    alpha: 6,
    targets: [...loraTargetModules],
  };
  /** A LoRA model with random base weights and random adapters (B non-zero, so A's gradient is too). */
  const loraModel = (config: LlamaConfigInput, seed: number) => {
    const model = createLlamaModel({ config, seed, lora });
    const weights = randomLlamaWeights({ config: model.config, seed: seed + 1, scale: 0.2 });
    model.setWeights(weights);
    const random = new Random(seed + 2);
    const adapters: WeightMap = {};
    for (const [name, tensor] of Object.entries(model.adapterWeights())) {
      adapters[name] = {
        shape: tensor.shape,
        data: tensor.data.map(() => random.normal(0, 0.2)),
      };
    }
    model.loadAdapterWeights(adapters);
    return { model, weights, adapters };
  };

  for (const [label, config] of [
    ['Llama', untiedConfig],
    ['Qwen3 (frozen q/k norms)', qwen3Config],
  ] as const)
    it(`${label}: adapter gradients equal tfjs autodiff; the base gets none`, async () => {
      const { model } = loraModel(config, 31);
      const sequences = randomSequences(model.config.vocabSize, [19, 12], 32);
      const dLogp = randomUpstream(sequences, 33);
      const learner = await createOnnxLlamaLearner({ config: model.config, lora });
      learner.setFrozenWeights(model.baseVariables());
      const variables = model.namedVariables();
      const onnx = await learner.gradients(variables, { sequences }, dLogp);
      expect(Object.keys(onnx.gradients).sort()).toEqual(Object.keys(variables).sort());
      expect(Object.keys(variables)).toHaveLength(2 * 7 * 2);
      const { grads, expected } = await tfjsAutodiff(model, variables, sequences, dLogp);
      for (let index = 0; index < expected.length; index++)
        expect(Math.abs(onnx.logProbs[index]! - expected[index]!)).toBeLessThan(logProbTolerance);
      const forwardOnly = await learner.logProbs(variables, { sequences });
      expect(Array.from(forwardOnly.logProbs)).toEqual(Array.from(onnx.logProbs));
      await expectGradientsMatch(variables, grads, onnx.gradients, gradientTolerance);
      tf.dispose([...Object.values(grads), ...Object.values(onnx.gradients)]);
      await learner.release();
      model.dispose();
    });

  it('adapter gradients equal float64 finite differences of the merged weights', async () => {
    const config: LlamaConfigInput = {
      ...tiedConfig,
      vocabSize: 13,
      hiddenSize: 8,
      intermediateSize: 12,
      headCount: 2,
      keyValueHeadCount: 1,
    };
    const { model, weights, adapters } = loraModel(config, 41);
    const parsed = parseLlamaConfig(model.config);
    const sequences = randomSequences(parsed.vocabSize, [9, 6], 42);
    const dLogp = randomUpstream(sequences, 43);
    const learner = await createOnnxLlamaLearner({ config: parsed, lora });
    learner.setFrozenWeights(model.baseVariables());
    const { gradients } = await learner.gradients(model.namedVariables(), { sequences }, dLogp);
    const scale = lora.alpha / lora.rank;
    const adapterData = new Map(
      Object.entries(adapters).map(([name, tensor]) => [name, Float64Array.from(tensor.data)]),
    );
    /** Hugging Face `[out, in]` weights with `W + s (A B)^T` merged in float64. */
    const merged = (): WeightMap => {
      const result: WeightMap = { ...weights };
      for (const { name } of learner.trainableWeights) {
        if (!name.endsWith('.lora_A.weight')) continue;
        const base = name.replace('.lora_A.weight', '.weight');
        const a = adapterData.get(name)!;
        const b = adapterData.get(name.replace('lora_A', 'lora_B'))!;
        const [outSize, inSize] = weights[base]!.shape as [number, number];
        const data = Float64Array.from(weights[base]!.data);
        for (let o = 0; o < outSize; o++)
          for (let i = 0; i < inSize; i++)
            for (let r = 0; r < lora.rank; r++)
              data[o * inSize + i]! += scale * a[i * lora.rank + r]! * b[r * outSize + o]!;
        result[base] = { shape: [outSize, inSize], data: data as unknown as Float32Array };
      }
      return result;
    };
    const random = new Random(44);
    const step = 1e-5;
    for (const { name } of learner.trainableWeights) {
      const gradient = (await gradients[name]!.data()) as Float32Array;
      const largest = Math.max(...gradient.map(Math.abs));
      const data = adapterData.get(name)!;
      for (let sample = 0; sample < 2; sample++) {
        const index = Math.floor(random.uniform(0, gradient.length));
        const numeric = centralDifference(data, index, step, () =>
          referenceObjective(parsed, merged(), sequences, dLogp),
        );
        expect(Math.abs(numeric - gradient[index]!), `${name}[${index}]`).toBeLessThan(
          1e-4 * Math.max(largest, 1e-2),
        );
      }
    }
    tf.dispose(Object.values(gradients));
    await learner.release();
    model.dispose();
  });

  it('names a missing frozen weight, and refuses frozen weights of a full model', async () => {
    const { model } = loraModel(tiedConfig, 51);
    const learner = await createOnnxLlamaLearner({ config: model.config, lora });
    await expect(
      learner.logProbs(model.namedVariables(), { sequences: [[1, 2, 3]] }),
    ).rejects.toThrow(/weights\["model.embed_tokens.weight"\].*setFrozenWeights/);
    const { 'model.norm.weight': _norm, ...missing } = model.baseVariables();
    expect(() => learner.setFrozenWeights(missing)).toThrow(/weights\["model.norm.weight"\]/);
    expect(() => learner.setFrozenWeights(model.namedVariables())).toThrow(/lora_A/);
    const full = await createOnnxLlamaLearner({ config: model.config });
    expect(() => full.setFrozenWeights(model.baseVariables())).toThrow(/not a frozen weight/);
    await learner.release();
    await full.release();
    model.dispose();
  });
});

describe('OnnxLlamaLearner with a temperature and an entropy term', () => {
  it('logp and entropy equal tokenLogProbs, and the gradients of both equal tfjs autodiff', async () => {
    const { model } = modelWith(untiedConfig, 71);
    const sequences = randomSequences(model.config.vocabSize, [20, 11, 15], 72);
    const dLogp = randomUpstream(sequences, 73);
    const dEntropy = randomUpstream(sequences, 74);
    const temperature = 0.7;
    const learner = await createOnnxLlamaLearner({ config: model.config });
    const variables = model.namedVariables();
    const onnx = await learner.gradients(variables, { sequences, temperature }, dLogp, dEntropy);
    const forwardOnly = await learner.logProbs(variables, { sequences, temperature });
    const expected = tokenLogProbs(model, { sequences, temperature, withEntropy: true });
    const expectedLogp = (await expected.logProbs.data()) as Float32Array;
    const expectedEntropy = (await expected.entropy!.data()) as Float32Array;
    for (let index = 0; index < expectedLogp.length; index++) {
      expect(Math.abs(onnx.logProbs[index]! - expectedLogp[index]!)).toBeLessThan(logProbTolerance);
      expect(Math.abs(onnx.entropy[index]! - expectedEntropy[index]!)).toBeLessThan(
        logProbTolerance,
      );
      expect(forwardOnly.entropy[index]).toBe(onnx.entropy[index]);
    }
    // The temperature matters: at 1 the log-probs differ.
    const plain = await learner.logProbs(variables, { sequences });
    expect(Math.abs(plain.logProbs[1]! - onnx.logProbs[1]!)).toBeGreaterThan(1e-3);
    const { value, grads } = tf.variableGrads(() => {
      const output = tokenLogProbs(model, { sequences, temperature, withEntropy: true });
      output.mask.dispose();
      return output.logProbs
        .mul(tf.tensor2d(dLogp))
        .sum()
        .add(output.entropy!.mul(tf.tensor2d(dEntropy)).sum()) as tf.Scalar;
    }, Object.values(variables));
    await expectGradientsMatch(variables, grads, onnx.gradients, gradientTolerance);
    // The entropy term changes the gradients: without it they differ.
    const withoutEntropy = await learner.gradients(variables, { sequences, temperature }, dLogp);
    const name = 'model.norm.weight';
    const a = (await withoutEntropy.gradients[name]!.data()) as Float32Array;
    const b = (await onnx.gradients[name]!.data()) as Float32Array;
    expect(Math.max(...a.map((entry, index) => Math.abs(entry - b[index]!)))).toBeGreaterThan(1e-4);
    await expect(learner.logProbs(variables, { sequences, temperature: 0 })).rejects.toThrow(
      /batch.temperature/,
    );
    await expect(learner.gradients(variables, { sequences }, dLogp, [[0]])).rejects.toThrow(
      /dEntropy.length/,
    );
    tf.dispose([value, ...Object.values(grads), ...Object.values(onnx.gradients)]);
    tf.dispose([...Object.values(withoutEntropy.gradients), expected.logProbs, expected.mask]);
    tf.dispose(expected.entropy!);
    await learner.release();
    model.dispose();
  });
});

describe('OnnxLlamaLearner threads', () => {
  it('two intra-op threads (sleeping when idle) give the gradients of one', async () => {
    const { model } = modelWith(untiedConfig, 61);
    const sequences = randomSequences(model.config.vocabSize, [21, 14], 62);
    const dLogp = randomUpstream(sequences, 63);
    const one = await createOnnxLlamaLearner({ config: model.config });
    const two = await createOnnxLlamaLearner({ config: model.config, intraOpNumThreads: 2 });
    const a = await one.gradients(model.namedVariables(), { sequences }, dLogp);
    const b = await two.gradients(model.namedVariables(), { sequences }, dLogp);
    for (const [name, gradient] of Object.entries(a.gradients)) {
      const x = (await gradient.data()) as Float32Array;
      const y = (await b.gradients[name]!.data()) as Float32Array;
      const scale = Math.max(...x.map(Math.abs));
      for (let index = 0; index < x.length; index++)
        expect(Math.abs(x[index]! - y[index]!), name).toBeLessThanOrEqual(1e-5 * scale);
    }
    tf.dispose([...Object.values(a.gradients), ...Object.values(b.gradients)]);
    await one.release();
    await two.release();
    model.dispose();
  });
});

describe('OnnxLlamaLearner memory arena', () => {
  it('keeps the arena up to a 512-token context, drops it for longer ones, and gives the same values either way', async () => {
    expect(defaultLearnerMemoryArena(256)).toBe(true);
    expect(defaultLearnerMemoryArena(512)).toBe(true);
    expect(defaultLearnerMemoryArena(513)).toBe(false);
    expect(defaultLearnerMemoryArena(2048)).toBe(false);
    const { model } = modelWith(untiedConfig, 64);
    const sequences = randomSequences(model.config.vocabSize, [21, 14], 65);
    const dLogp = randomUpstream(sequences, 66);
    // untiedConfig's context is 64 tokens: the arena by default; a 2048-token copy of the config: none.
    const kept = await createOnnxLlamaLearner({ config: model.config });
    const dropped = await createOnnxLlamaLearner({ config: model.config, memoryArena: false });
    const long = await createOnnxLlamaLearner({ config: { ...untiedConfig, contextLength: 2048 } });
    expect([kept.memoryArena, dropped.memoryArena, long.memoryArena]).toEqual([true, false, false]);
    const a = await kept.gradients(model.namedVariables(), { sequences }, dLogp);
    const b = await dropped.gradients(model.namedVariables(), { sequences }, dLogp);
    // The arena decides where buffers live, not what is computed: the same bits.
    expect(Array.from(b.logProbs)).toEqual(Array.from(a.logProbs));
    for (const [name, gradient] of Object.entries(a.gradients))
      expect(Array.from(await b.gradients[name]!.data()), name).toEqual(
        Array.from(await gradient.data()),
      );
    tf.dispose([...Object.values(a.gradients), ...Object.values(b.gradients)]);
    await expect(
      createOnnxLlamaLearner({ config: model.config, memoryArena: 'no' as unknown as boolean }),
    ).rejects.toThrow(/memoryArena/);
    for (const learner of [kept, dropped, long]) await learner.release();
    model.dispose();
  });
});

describe('OnnxLlamaLearner input checks', () => {
  it('names the field and value of bad input', async () => {
    const { model } = modelWith(tiedConfig, 3);
    const learner = await createOnnxLlamaLearner({ config: model.config });
    const variables = model.namedVariables();
    const { 'model.norm.weight': _norm, ...missing } = variables;
    const sequences = [[1, 2, 3]];
    await expect(learner.logProbs(missing, { sequences })).rejects.toThrow(
      /weights\["model.norm.weight"\].*missing/,
    );
    const wrong = { ...variables, 'model.norm.weight': tf.ones([3]) };
    await expect(learner.logProbs(wrong, { sequences })).rejects.toThrow(
      /weights\["model.norm.weight"\].shape/,
    );
    const extra = { ...variables, 'lm_head.weight': tf.ones([16, 29]) };
    await expect(learner.logProbs(extra, { sequences })).rejects.toThrow(
      /weights\["lm_head.weight"\].*is not a weight/,
    );
    await expect(learner.logProbs(variables, { sequences: [[1, 29]] })).rejects.toThrow(
      /batch.sequences\[0\]\[1\]/,
    );
    await expect(learner.logProbs(variables, { sequences: [] })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(learner.gradients(variables, { sequences }, [[0, 1]])).rejects.toThrow(
      /dLogp\[0\].length/,
    );
    await expect(
      learner.gradients(variables, { sequences }, new Float32Array([0, Number.NaN, 0])),
    ).rejects.toThrow(/dLogp\[0\]\[1\]/);
    await expect(
      createOnnxLlamaLearner({ config: model.config, intraOpNumThreads: 0 }),
    ).rejects.toThrow(ValidationError);
    tf.dispose([wrong['model.norm.weight'], extra['lm_head.weight']]);
    await learner.release();
    model.dispose();
  });
});
