import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InvalidArgumentError, Random } from '@cohort/core';
import {
  createGptModel,
  createLlamaModel,
  initializeBackend,
  loraTargetModules,
  randomGpt2Weights,
  randomLlamaWeights,
  type WeightMap,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxGptLearner, createOnnxLlamaLearner, type OnnxGradients } from './onnx-learner';
import { createOnnxLearnerPool, type OnnxLearnerPool, poolShares } from './onnx-learner-pool';
import {
  learnerGptConfig as gptConfig,
  untiedLlamaConfig as llamaConfig,
  randomSequences,
  randomUpstream,
} from './test-support/learner-fixtures';

beforeAll(async () => {
  await initializeBackend();
});

const pools: OnnxLearnerPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.release()));
});

async function values(gradients: OnnxGradients): Promise<Record<string, Float32Array>> {
  const entries = await Promise.all(
    Object.entries(gradients.gradients).map(
      async ([name, tensor]) => [name, (await tensor.data()) as Float32Array] as const,
    ),
  );
  tf.dispose(Object.values(gradients.gradients));
  return Object.fromEntries(entries);
}

/** Each gradient within `tolerance` of `expected`'s, relative to its largest entry (which must not vanish). */
function expectClose(
  actual: Record<string, Float32Array>,
  expected: Record<string, Float32Array>,
  tolerance: number,
): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name] as Float32Array;
    let scale = 0;
    let largest = 0;
    for (let index = 0; index < want.length; index++) {
      scale = Math.max(scale, Math.abs(want[index]!));
      largest = Math.max(largest, Math.abs(got[index]! - want[index]!));
    }
    expect(scale, name).toBeGreaterThan(1e-6);
    expect(largest / scale, name).toBeLessThan(tolerance);
  }
}

describe('poolShares', () => {
  it('splits rows into contiguous shares differing by at most one, never empty', () => {
    expect(poolShares(8, 2)).toEqual([
      [0, 4],
      [4, 8],
    ]);
    expect(poolShares(7, 3)).toEqual([
      [0, 3],
      [3, 5],
      [5, 7],
    ]);
    expect(poolShares(2, 4)).toEqual([
      [0, 1],
      [1, 2],
    ]);
  });
});

describe('OnnxLearnerPool against one OnnxLearner', () => {
  it('GPT-2, 2 and 3 workers: the same log-probs and entropies, the same gradients within float32 rounding, bit-identical on repeat', async () => {
    const model = createGptModel({ config: gptConfig, seed: 5 });
    model.setWeights(randomGpt2Weights({ config: model.config, seed: 6, scale: 0.2 }));
    const sequences = randomSequences(model.config.vocabSize, [23, 17, 6, 20, 11], 11);
    const dLogp = randomUpstream(sequences, 12);
    const dEntropy = randomUpstream(sequences, 13);
    const batch = { sequences, temperature: 0.9 };
    const variables = model.namedVariables();
    const single = await createOnnxGptLearner({ config: model.config, sequencesPerRun: 1 });
    const expected = await single.gradients(variables, batch, dLogp, dEntropy);
    const expectedForward = await single.logProbs(variables, batch);
    const expectedGradients = await values(expected);
    await single.release();
    for (const workerCount of [2, 3]) {
      const pool = await createOnnxLearnerPool({
        family: 'gpt2',
        config: model.config,
        workerCount,
        sequencesPerRun: 1,
      });
      pools.push(pool);
      expect(pool.workerCount).toBe(workerCount);
      const first = await pool.gradients(variables, batch, dLogp, dEntropy);
      expect(first.shape).toEqual(expected.shape);
      // Each sequence runs alone in both, on one thread: the forward values are the same bits.
      expect(first.logProbs).toEqual(expected.logProbs);
      expect(first.entropy).toEqual(expected.entropy);
      const forward = await pool.logProbs(variables, batch);
      expect(forward.logProbs).toEqual(expectedForward.logProbs);
      expect(forward.entropy).toEqual(expectedForward.entropy);
      const firstGradients = await values(first);
      expectClose(firstGradients, expectedGradients, 1e-5);
      // The upstream as one row-major Float32Array gives the same bits as rows.
      const flat = new Float32Array(dLogp.flat());
      const again = await values(
        await pool.gradients(variables, batch, flat, new Float32Array(dEntropy.flat())),
      );
      for (const [name, gradient] of Object.entries(firstGradients))
        expect(again[name], name).toEqual(gradient);
    }
  });

  it('Llama with LoRA: the base crosses once, the adapters get the gradients one learner gives', async () => {
    const lora = { rank: 3, alpha: 6, targets: [...loraTargetModules] };
    const model = createLlamaModel({ config: llamaConfig, seed: 31, lora });
    model.setWeights(randomLlamaWeights({ config: model.config, seed: 32, scale: 0.2 }));
    const random = new Random(33);
    const adapters: WeightMap = {};
    for (const [name, tensor] of Object.entries(model.adapterWeights())) {
      adapters[name] = { shape: tensor.shape, data: tensor.data.map(() => random.normal(0, 0.2)) };
    }
    model.loadAdapterWeights(adapters);
    // Long enough for the scaled rotary frequencies (original context 16) to matter.
    const sequences = randomSequences(model.config.vocabSize, [40, 19, 33, 7], 34);
    const dLogp = randomUpstream(sequences, 35);
    const variables = model.namedVariables();
    const single = await createOnnxLlamaLearner({ config: model.config, lora, sequencesPerRun: 1 });
    single.setFrozenWeights(model.baseVariables());
    const expected = await single.gradients(variables, { sequences }, dLogp);
    const expectedGradients = await values(expected);
    await single.release();

    const pool = await createOnnxLearnerPool({
      family: 'llama',
      config: model.config,
      lora,
      workerCount: 2,
    });
    pools.push(pool);
    expect(pool.trainableWeights.map((weight) => weight.name).sort()).toEqual(
      Object.keys(variables).sort(),
    );
    await pool.setFrozenWeights(model.baseVariables());
    // By default each worker runs its share ([40, 19] and [33, 7]: under 1024 tokens) in one run.
    expect(pool.runLimits).toEqual({
      sequencesPerRun: Number.POSITIVE_INFINITY,
      tokensPerRun: 1024,
    });
    const result = await pool.gradients(variables, { sequences }, dLogp);
    result.logProbs.forEach((value, index) => {
      expect(Math.abs(value - expected.logProbs[index]!)).toBeLessThan(1e-5);
    });
    expectClose(await values(result), expectedGradients, 1e-5);
  });

  it('GPT-2 shares in runs of at most tokensPerRun padded tokens: the same values as one sequence a run', async () => {
    const model = createGptModel({ config: gptConfig, seed: 8 });
    model.setWeights(randomGpt2Weights({ config: model.config, seed: 9, scale: 0.2 }));
    // Shares [23, 17, 6] and [20, 11]; at 46 tokens a run: [23, 17] (46), [6]; [20, 11] (40).
    const sequences = randomSequences(model.config.vocabSize, [23, 17, 6, 20, 11], 14);
    const dLogp = randomUpstream(sequences, 15);
    const variables = model.namedVariables();
    const single = await createOnnxGptLearner({ config: model.config, sequencesPerRun: 1 });
    const expected = await single.gradients(variables, { sequences }, dLogp);
    const expectedGradients = await values(expected);
    await single.release();
    const pool = await createOnnxLearnerPool({
      family: 'gpt2',
      config: model.config,
      workerCount: 2,
      tokensPerRun: 46,
    });
    pools.push(pool);
    expect(pool.runLimits.tokensPerRun).toBe(46);
    const result = await pool.gradients(variables, { sequences }, dLogp);
    result.logProbs.forEach((value, index) => {
      expect(Math.abs(value - expected.logProbs[index]!)).toBeLessThan(1e-5);
    });
    expectClose(await values(result), expectedGradients, 1e-5);
    await expect(
      createOnnxLearnerPool({
        family: 'gpt2',
        config: model.config,
        workerCount: 2,
        tokensPerRun: 0,
      }),
    ).rejects.toThrow(/tokensPerRun/);
  });

  it("names the caller's row in a worker's error, checks the upstream's shape, and keeps working after a bad call", async () => {
    const model = createGptModel({ config: gptConfig, seed: 7 });
    const pool = await createOnnxLearnerPool({
      family: 'gpt2',
      config: model.config,
      workerCount: 2,
    });
    pools.push(pool);
    const variables = model.namedVariables();
    const sequences = randomSequences(model.config.vocabSize, [9, 8, 7, 6], 14);
    // Row 3 is the second worker's row 1: the error names row 3.
    const bad = sequences.map((sequence) => [...sequence]);
    bad[3]![2] = 99;
    const call = pool.gradients(variables, { sequences: bad }, randomUpstream(bad, 15));
    await expect(call).rejects.toThrow(InvalidArgumentError);
    await expect(
      pool.gradients(variables, { sequences: bad }, randomUpstream(bad, 15)),
    ).rejects.toThrow(/Invalid argument batch\.sequences\[3\]\[2\] = 99: /);
    const short = randomUpstream(sequences, 16);
    short[1] = short[1]!.slice(1);
    await expect(pool.gradients(variables, { sequences }, short)).rejects.toThrow(
      /Invalid argument dLogp\[1\]\.length = 8: must equal the padded length 9/,
    );
    await expect(pool.logProbs(variables, { sequences: [] })).rejects.toThrow(/batch\.sequences/);
    const missing = Object.fromEntries(
      Object.entries(variables).filter(([name]) => name !== 'transformer.wte.weight'),
    );
    await expect(pool.logProbs(missing, { sequences })).rejects.toThrow(
      /Invalid argument weights\["transformer\.wte\.weight"\] = undefined: is missing/,
    );
    const ok = await pool.logProbs(variables, { sequences });
    expect(ok.shape).toEqual([4, 9]);
    expect(ok.logProbs.every((value) => Number.isFinite(value))).toBe(true);
    await expect(
      createOnnxLearnerPool({ family: 'gpt2', config: model.config, workerCount: 0 }),
    ).rejects.toThrow(/Invalid argument workerCount = 0: must be an integer >= 1/);
  });

  it('fails every later call with the stopped worker named, after a worker dies', async () => {
    const model = createGptModel({ config: gptConfig, seed: 8 });
    const pool = await createOnnxLearnerPool({
      family: 'gpt2',
      config: model.config,
      workerCount: 2,
    });
    const sequences = randomSequences(model.config.vocabSize, [5, 6], 17);
    await (
      pool as unknown as { workers: { terminate(): Promise<number> }[] }
    ).workers[1]!.terminate();
    await expect(pool.logProbs(model.namedVariables(), { sequences })).rejects.toThrow(
      /ONNX learner worker 1 stopped/,
    );
    await pool.release();
  });

  it('lets a program go on after release: the idle workers are held again until they exit', async () => {
    const script = new URL('./test-support/pool-release-script.ts', import.meta.url);
    // Without the hold the program ended during release 3 times in 4 (exit 13): three runs at once.
    const runs = await Promise.all(
      [0, 1, 2].map(() =>
        promisify(execFile)(
          process.execPath,
          ['--conditions=@cohort/source', '--import', 'tsx', script.pathname],
          { timeout: 60_000 },
        ),
      ),
    );
    for (const { stdout } of runs) expect(stdout.trim()).toBe('released after a call of shape 2x3');
  });
});
