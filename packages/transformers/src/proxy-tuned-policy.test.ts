import { InvalidArgumentError, Random } from '@cohort/core';
import {
  createOptimizer,
  initializeBackend,
  referenceGpt2Logits,
  type WeightMap,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deltaHeadBiasName, deltaHeadWeightName } from './delta-model';
import { type LoadedCausalLm, loadCausalLm } from './load-causal-lm';
import { ProxyReferenceModel } from './proxy-reference-model';
import { createProxyTunedPolicy, type ProxyTunedPolicy } from './proxy-tuned-policy';
import { makeTinyModel, type TinyModel } from './test-support/tiny-model';
import { TransformersSampler } from './transformers-sampler';

let tiny: TinyModel;
let loaded: LoadedCausalLm;

beforeAll(async () => {
  await initializeBackend({ backend: 'wasm', logger: false });
  tiny = await makeTinyModel({ seed: 7 });
  loaded = await loadCausalLm({ model: tiny.directory });
});
afterAll(async () => tiny?.cleanup());

const deltaSize = { embeddingSize: 16, layerCount: 1, headCount: 2 };

async function newPolicy(
  seed = 1,
  extra: { cacheMaxBytes?: number } = {},
): Promise<ProxyTunedPolicy> {
  return createProxyTunedPolicy({
    base: loaded.model,
    tokenizer: loaded.tokenizer,
    delta: deltaSize,
    seed,
    ...extra,
  });
}

/** Random non-zero head weights, so that delta is not zero. */
function perturbedWeights(policy: ProxyTunedPolicy, scale: number): WeightMap {
  const random = new Random(99);
  const weights = policy.getWeights();
  for (const name of [deltaHeadWeightName, deltaHeadBiasName]) {
    const tensor = weights[name];
    if (tensor) tensor.data = Float32Array.from(tensor.data, () => random.normal(0, scale));
  }
  return weights;
}

/** Independent float64 log-softmax over a row. */
function logSoftmaxRow(row: number[]): number[] {
  const top = Math.max(...row);
  const logSum = top + Math.log(row.reduce((sum, value) => sum + Math.exp(value - top), 0));
  return row.map((value) => value - logSum);
}

const prompts = () => [
  loaded.tokenizer.encode('hello there'),
  loaded.tokenizer.encode('my order has'),
];

describe('ProxyTunedPolicy', () => {
  it('equals the base model at initialization: KL < 1e-6, same samples as the plain sampler, same log-probs', async () => {
    const policy = await newPolicy();
    const request = {
      prompts: prompts(),
      groupSize: 3,
      maxNewTokens: 6,
      seed: 21,
      temperature: 0.9,
    };
    const proxy = await policy.sample(request);
    const plain = await new TransformersSampler({
      model: loaded.model,
      tokenizer: loaded.tokenizer,
    }).sample(request);
    expect(proxy.map((c) => c.tokenIds)).toEqual(plain.map((c) => c.tokenIds));
    proxy.forEach((c, i) => {
      c.logProbsPerToken.forEach((value, k) => {
        expect(value).toBeCloseTo(plain[i]?.logProbsPerToken[k] as number, 5);
      });
    });
    const sequences = proxy.map((c) => [...(prompts()[c.promptIndex] as number[]), ...c.tokenIds]);
    const kl = await policy.klToBase({ sequences, temperature: 0.9 });
    for (const row of kl) for (const value of row) expect(Math.abs(value)).toBeLessThan(1e-6);
    const reference = await new ProxyReferenceModel({ policy }).referenceLogProbs({
      sequences,
      temperature: 0.9,
    });
    const { logProbs } = policy.tokenLogProbs({ sequences, temperature: 0.9 });
    const values = (await logProbs.array()) as number[][];
    logProbs.dispose();
    sequences.forEach((sequence, b) => {
      sequence.forEach((_, t) => {
        expect(values[b]?.[t]).toBeCloseTo(reference[b]?.[t] as number, 4);
      });
    });
    policy.dispose();
  });

  it('samples from softmax(base + delta): sampled log-probs match tokenLogProbs and an independent computation', async () => {
    const policy = await newPolicy(2);
    policy.setWeights(perturbedWeights(policy, 0.5));
    const temperature = 0.8;
    const completions = await policy.sample({
      prompts: prompts(),
      groupSize: 2,
      maxNewTokens: 5,
      seed: 4,
      temperature,
    });
    const sequences = completions.map((c) => [
      ...(prompts()[c.promptIndex] as number[]),
      ...c.tokenIds,
    ]);
    expect(policy.baseLogits.count).toBe(sequences.length); // cached by the rollout
    const { logProbs, entropy } = policy.tokenLogProbs({
      sequences,
      temperature,
      withEntropy: true,
    });
    const values = (await logProbs.array()) as number[][];
    const entropies = (await (entropy as tf.Tensor).array()) as number[][];
    tf.dispose([logProbs, entropy]);
    const vocab = tiny.config.vocabSize;
    for (const [b, completion] of completions.entries()) {
      const sequence = sequences[b] as number[];
      const promptLength = sequence.length - completion.tokenIds.length;
      const base = referenceGpt2Logits({
        config: tiny.config,
        weights: tiny.weights,
        tokenIds: sequence,
      });
      const { delta } = policy.delta.forward([sequence]);
      const offsets = delta.dataSync();
      delta.dispose();
      for (let t = 1; t < sequence.length; t++) {
        const row = Array.from(
          { length: vocab },
          (_, v) =>
            ((base[(t - 1) * vocab + v] as number) + (offsets[(t - 1) * vocab + v] as number)) /
            temperature,
        );
        const logDistribution = logSoftmaxRow(row);
        const expected = logDistribution[sequence[t] as number] as number;
        expect(values[b]?.[t]).toBeCloseTo(expected, 4);
        if (t >= promptLength)
          expect(completion.logProbsPerToken[t - promptLength]).toBeCloseTo(expected, 4);
        const expectedEntropy = -logDistribution.reduce(
          (sum, value) => sum + Math.exp(value) * value,
          0,
        );
        expect(entropies[b]?.[t]).toBeCloseTo(expectedEntropy, 4);
      }
      expect(values[b]?.[0]).toBe(0);
    }
    policy.dispose();
  });

  it('has the softmax gradient in the output bias: d log pi(y) / d b_v = ([v = y] - pi_v) / T', async () => {
    const policy = await newPolicy(3);
    policy.setWeights(perturbedWeights(policy, 0.3));
    const sequence = [...(prompts()[0] as number[]), 40];
    await policy.prepare({ sequences: [sequence] });
    const temperature = 0.7;
    const t = sequence.length - 1;
    const bias = policy.namedVariables()[deltaHeadBiasName] as tf.Variable;
    const { value, grads } = tf.variableGrads(
      () =>
        policy
          .tokenLogProbs({ sequences: [sequence], temperature })
          .logProbs.slice([0, t], [1, 1])
          .sum() as tf.Scalar,
      [bias],
    );
    const analytic = (grads[bias.name] as tf.Tensor).dataSync();
    // pi at that position, from the log-probs of every possible token y.
    const vocab = tiny.config.vocabSize;
    const candidates = Array.from({ length: vocab }, (_, v) => [...sequence.slice(0, t), v]);
    await policy.prepare({ sequences: candidates });
    const all = policy.tokenLogProbs({ sequences: candidates, temperature }).logProbs;
    const pi = Array.from((await all.slice([0, t], [vocab, 1]).data()) as Float32Array, Math.exp);
    expect(pi.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 4);
    for (let v = 0; v < vocab; v++) {
      const expected = ((v === sequence[t] ? 1 : 0) - (pi[v] as number)) / temperature;
      expect(analytic[v]).toBeCloseTo(expected, 4);
    }
    // And against central finite differences on two coordinates.
    for (const v of [sequence[t] as number, 7]) {
      const epsilon = 1e-2;
      const original = bias.dataSync().slice();
      const at = (shift: number) => {
        const moved = original.slice();
        moved[v] = (moved[v] as number) + shift;
        bias.assign(tf.tensor1d(moved));
        const out = policy.tokenLogProbs({ sequences: [sequence], temperature }).logProbs;
        const result = out.dataSync()[t] as number;
        out.dispose();
        return result;
      };
      const numeric = (at(epsilon) - at(-epsilon)) / (2 * epsilon);
      bias.assign(tf.tensor1d(original));
      expect(Math.abs(numeric - (analytic[v] as number))).toBeLessThan(
        1e-2 * Math.max(1, Math.abs(numeric)),
      );
    }
    tf.dispose([value, all, ...Object.values(grads)]);
    policy.dispose();
  });

  it('exact KL to the base matches an independent sum, and its gradient vanishes at initialization', async () => {
    const policy = await newPolicy(4);
    const sequence = [...(prompts()[1] as number[]), 12, 30];
    await policy.prepare({ sequences: [sequence] });
    const { grads } = tf.variableGrads(
      () => policy.exactKlToBase({ sequences: [sequence] }).sum() as tf.Scalar,
      policy.trainableVariables() as tf.Variable[],
    );
    for (const gradient of Object.values(grads))
      expect(Math.max(...Array.from(gradient.abs().dataSync()))).toBeLessThan(1e-5);
    tf.dispose(Object.values(grads));
    policy.setWeights(perturbedWeights(policy, 0.5));
    const kl = await policy.klToBase({ sequences: [sequence], temperature: 1 });
    const vocab = tiny.config.vocabSize;
    const base = referenceGpt2Logits({
      config: tiny.config,
      weights: tiny.weights,
      tokenIds: sequence,
    });
    const { delta } = policy.delta.forward([sequence]);
    const offsets = delta.dataSync();
    delta.dispose();
    expect(kl[0]?.[0]).toBe(0);
    for (let t = 1; t < sequence.length; t++) {
      const logBase = logSoftmaxRow(
        Array.from({ length: vocab }, (_, v) => base[(t - 1) * vocab + v] as number),
      );
      const logPolicy = logSoftmaxRow(
        Array.from(
          { length: vocab },
          (_, v) =>
            (base[(t - 1) * vocab + v] as number) + (offsets[(t - 1) * vocab + v] as number),
        ),
      );
      const expected = logPolicy.reduce(
        (sum, lp, v) => sum + Math.exp(lp) * (lp - (logBase[v] as number)),
        0,
      );
      expect(expected).toBeGreaterThan(1e-3);
      expect(kl[0]?.[t]).toBeCloseTo(expected, 4);
    }
    policy.dispose();
  });

  it('a few REINFORCE steps toward a preferred token raise its probability while the base stays frozen', async () => {
    const policy = await newPolicy(5);
    const reference = new ProxyReferenceModel({ policy });
    const prompt = prompts()[0] as number[];
    const vocab = tiny.config.vocabSize;
    const base = referenceGpt2Logits({
      config: tiny.config,
      weights: tiny.weights,
      tokenIds: prompt,
    });
    const lastRow = Array.from(base.subarray((prompt.length - 1) * vocab));
    // The preferred token: the fourth most likely next token of the base.
    const target = lastRow
      .map((value, id) => [value, id] as const)
      .sort((a, b) => b[0] - a[0])[3]?.[1] as number;
    const probability = async () => {
      const sequences = [[...prompt, target]];
      await policy.prepare({ sequences });
      const out = policy.tokenLogProbs({ sequences });
      const value = Math.exp(out.logProbs.dataSync()[prompt.length] as number);
      out.logProbs.dispose();
      return value;
    };
    const before = await probability();
    const baseBefore = await reference.referenceLogProbs({ sequences: [[...prompt, target]] });
    const optimizer = createOptimizer({
      type: 'adam',
      learningRate: 0.05,
      variables: policy.namedVariables(),
    });
    for (let step = 0; step < 8; step++) {
      const completions = await policy.sample({
        prompts: [prompt],
        groupSize: 16,
        maxNewTokens: 1,
        seed: 100 + step,
      });
      const rewards = completions.map((c): number => (c.tokenIds[0] === target ? 1 : 0));
      const mean = rewards.reduce((sum, r) => sum + r, 0) / rewards.length;
      const advantages = rewards.map((r) => r - mean);
      if (advantages.every((a) => a === 0)) continue;
      const sequences = completions.map((c) => [...prompt, ...c.tokenIds]);
      const { grads, value } = tf.variableGrads(() => {
        const { logProbs } = policy.tokenLogProbs({ sequences });
        const taken = logProbs.slice([0, prompt.length], [sequences.length, 1]).reshape([-1]);
        return taken.mul(tf.tensor1d(advantages)).mean().neg() as tf.Scalar;
      }, policy.trainableVariables() as tf.Variable[]);
      optimizer.applyGradients(grads);
      policy.version++;
      tf.dispose([value, ...Object.values(grads)]);
    }
    const after = await probability();
    expect(before).toBeCloseTo(Math.exp(logSoftmaxRow(lastRow)[target] as number), 4);
    expect(after).toBeGreaterThan(2 * before);
    expect(after).toBeGreaterThan(0.5); // 0.019 -> 0.987 with this seed
    expect(policy.version).toBeGreaterThan(0);
    // The base is frozen: the reference scores do not move, and match the untouched base.
    const baseAfter = await reference.referenceLogProbs({ sequences: [[...prompt, target]] });
    expect(baseAfter).toEqual(baseBefore);
    const fresh = await new ProxyReferenceModel({ policy: await newPolicy(6) }).referenceLogProbs({
      sequences: [[...prompt, target]],
    });
    expect(baseAfter[0]?.[prompt.length]).toBeCloseTo(fresh[0]?.[prompt.length] as number, 5);
    policy.dispose();
  });

  it('scores trajectories longer than the rollouts once the shared reference model has seen them', async () => {
    const policy = await newPolicy(9);
    const [completion] = await policy.sample({
      prompts: [prompts()[0] as number[]],
      groupSize: 1,
      maxNewTokens: 3,
      seed: 1,
    });
    // A trainer appends the chat template's closing tokens after the sampled ones.
    const closing = loaded.tokenizer.encode('\n');
    const trajectory = [...(prompts()[0] as number[]), ...(completion?.tokenIds ?? []), ...closing];
    expect(() => policy.tokenLogProbs({ sequences: [trajectory] })).toThrow(
      /sequences\[0\] .*prepare/,
    );
    const reference = await new ProxyReferenceModel({ policy }).referenceLogProbs({
      sequences: [trajectory],
    });
    const { logProbs } = policy.tokenLogProbs({ sequences: [trajectory] });
    const values = (await logProbs.array()) as number[][];
    logProbs.dispose();
    // Delta is zero at initialization, so the policy's log-probs are the reference's.
    trajectory.forEach((_, t) => {
      expect(values[0]?.[t]).toBeCloseTo(reference[0]?.[t] as number, 4);
    });
    policy.dispose();
  });

  it('round-trips weights by name and refuses uncached or bad sequences, naming them', async () => {
    const policy = await newPolicy(8);
    const weights = perturbedWeights(policy, 0.2);
    policy.setWeights(weights);
    const names = Object.keys(policy.namedVariables()).sort();
    expect(Object.keys(policy.getWeights()).sort()).toEqual(names);
    expect(names).toContain(deltaHeadWeightName);
    expect(Array.from(policy.getWeights()[deltaHeadBiasName]?.data ?? [])).toEqual(
      Array.from(weights[deltaHeadBiasName]?.data ?? []),
    );
    const { [deltaHeadBiasName]: _, ...missing } = weights;
    expect(() => policy.setWeights(missing)).toThrow(/delta_head\.bias/);
    expect(() => policy.tokenLogProbs({ sequences: [[5, 6, 7, 8, 9]] })).toThrow(
      /sequences\[0\] .*prepare/,
    );
    await policy.prepare({ sequences: [[5, 6, 7, 8, 9]] });
    // A prefix of a cached sequence is served by its entry.
    const out = policy.tokenLogProbs({ sequences: [[5, 6, 7]] });
    expect(out.logProbs.shape).toEqual([1, 3]);
    out.logProbs.dispose();
    expect(() => policy.tokenLogProbs({ sequences: [] })).toThrow(InvalidArgumentError);
    expect(() => policy.tokenLogProbs({ sequences: [[5, 6]], temperature: 0 })).toThrow(
      /temperature/,
    );
    await expect(
      policy.sample({ prompts: [[5]], groupSize: 1, maxNewTokens: 64, seed: 0 }),
    ).rejects.toThrow(/64 positions/);
    policy.dispose();
  });
});
