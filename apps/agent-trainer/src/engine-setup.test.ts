import { MockTokenizer } from '@cohort/core/test';
import {
  createGptModel,
  createLlamaModel,
  GptPolicy,
  GptReferenceModel,
  initializeBackend,
  LlamaPolicy,
} from '@cohort/tfjs';
import { DataParallelLearner, SequentialShardLearner } from '@cohort/tfjs/node';
import { type OnnxReferenceModel, RefreshableOnnxReferenceModel } from '@cohort/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveAppConfig } from './app-config';
import {
  createConfiguredLearner,
  defaultLearnerShards,
  engineWarnings,
  learnerOf,
  learnerShardsOf,
  referenceEngineOf,
  resolvedEngines,
} from './engine-setup';
import { OnnxPolicyLearner } from './onnx-policy-learner';
import { createTrainer } from './training-setup';

beforeAll(async () => {
  await initializeBackend({ backend: 'wasm', logger: false });
});

describe('engine.reference', () => {
  it('scores the default run reference on ONNX Runtime, as the tfjs reference does within 1e-4', async () => {
    const onnxTrainer = await createTrainer({ config: resolveAppConfig({}) });
    const tfjsTrainer = await createTrainer({
      config: resolveAppConfig({ engine: { reference: 'tfjs' } }),
    });
    const onnx = onnxTrainer.referenceModel;
    const tfjs = tfjsTrainer.referenceModel;
    // A GPT-2 frozen copy: refreshable, so referenceRefresh still works on it.
    expect(onnx).toBeInstanceOf(RefreshableOnnxReferenceModel);
    expect(tfjs).toBeInstanceOf(GptReferenceModel);
    const sequences = [
      Array.from({ length: 60 }, (_, t) => (t * 37 + 5) % 1000),
      Array.from({ length: 9 }, (_, t) => (t * 11 + 3) % 1000),
    ];
    const onnxLogProbs = await onnx!.referenceLogProbs({ sequences, temperature: 0.8 });
    const tfjsLogProbs = await tfjs!.referenceLogProbs({ sequences, temperature: 0.8 });
    let max = 0;
    onnxLogProbs.forEach((row, i) => {
      expect(row).toHaveLength(sequences[i]!.length);
      row.forEach((value, t) => {
        max = Math.max(max, Math.abs(value - tfjsLogProbs[i]![t]!));
      });
    });
    expect(max).toBeLessThan(1e-4);
    await (onnx as OnnxReferenceModel).dispose();
  });

  it('defaults to ONNX for tfjs-lm only, and warns where the setting has no effect', () => {
    expect(referenceEngineOf(resolveAppConfig({}))).toBe('onnx');
    const proxy = { type: 'proxy', baseModelDirectory: 'models/base' };
    expect(referenceEngineOf(resolveAppConfig({ policy: proxy }))).toBe('tfjs');
    expect(
      engineWarnings(resolveAppConfig({ policy: proxy, engine: { reference: 'onnx' } })),
    ).toEqual([expect.stringContaining("engine.reference 'onnx' applies to tfjs-lm policies")]);
    expect(engineWarnings(resolveAppConfig({ engine: { reference: 'onnx' } }))).toEqual([]);
  });
});

/** A one-layer Llama policy on the mock tokenizer, with LoRA when given. */
function tinyLlamaPolicy(options: { lora?: { rank: number } }) {
  const tokenizer = new MockTokenizer();
  const model = createLlamaModel({
    config: {
      vocabSize: tokenizer.vocabSize,
      hiddenSize: 16,
      intermediateSize: 24,
      layerCount: 1,
      headCount: 2,
      keyValueHeadCount: 1,
      contextLength: 64,
      eosTokenId: tokenizer.eosTokenId,
    },
    ...(options.lora ? { lora: options.lora } : {}),
    seed: 1,
  });
  return { model, policy: new LlamaPolicy({ model, tokenizer }) };
}

describe('engine.learnerWorkers', () => {
  it('replicates a LoRA Llama policy: the workers take its adapters as their trainable weights', async () => {
    const { model, policy } = tinyLlamaPolicy({ lora: { rank: 2 } });
    const configured = await createConfiguredLearner(
      policy,
      resolveAppConfig({ engine: { learnerWorkers: 1 } }),
    );
    try {
      expect(configured?.model).toBe(model);
      expect(configured?.learner).toBeInstanceOf(DataParallelLearner);
      expect((configured!.learner as DataParallelLearner).options.llama?.lora?.rank).toBe(2);
      // The replicas' trainable parameters must be the adapters' count, or setWeights refuses.
      await configured!.learner.setWeights(model);
    } finally {
      await configured?.learner.dispose();
      model.dispose();
    }
    expect(
      await createConfiguredLearner(policy, resolveAppConfig({ engine: { learnerShards: 1 } })),
    ).toBeUndefined();
  });
});

describe('engine.learner', () => {
  it("'onnx' gives a Llama policy the ONNX learner in one shard, warns where it cannot apply, takes workers as a pool of ONNX Runtime workers, and refuses shards beside it", async () => {
    const { model, policy } = tinyLlamaPolicy({ lora: { rank: 2 } });
    const config = resolveAppConfig({ engine: { learner: 'onnx' } });
    expect(learnerShardsOf(config)).toBe(1);
    const configured = await createConfiguredLearner(policy, config);
    try {
      expect(configured?.learner).toBeInstanceOf(OnnxPolicyLearner);
      expect(configured?.learner.workerCount).toBe(1);
      expect(configured?.model).toBe(model);
      await configured!.learner.setWeights(model);
      // With workers: a pool of ONNX Runtime workers, the LoRA base sent to each.
      const pooled = await createConfiguredLearner(
        policy,
        resolveAppConfig({ engine: { learner: 'onnx', learnerWorkers: 2 } }),
      );
      try {
        expect(pooled?.learner).toBeInstanceOf(OnnxPolicyLearner);
        expect(
          (pooled!.learner as unknown as { learner: { workerCount: number } }).learner.workerCount,
        ).toBe(2);
      } finally {
        await pooled?.learner.dispose();
      }
    } finally {
      await configured?.learner.dispose();
      model.dispose();
    }
    const proxy = { type: 'proxy', baseModelDirectory: 'models/base' };
    expect(
      engineWarnings(resolveAppConfig({ policy: proxy, engine: { learner: 'onnx' } })),
    ).toEqual([expect.stringContaining("engine.learner 'onnx' applies to tfjs-lm policies")]);
    expect(engineWarnings(config)).toEqual([]);
    expect(() => resolveAppConfig({ engine: { learner: 'onnx', learnerShards: 4 } })).toThrow(
      /engine\.learner.*leave out learnerShards \(4\)/s,
    );
  });

  it("a GPT-2 or Llama policy learns on ONNX Runtime by default, and on tfjs when workers, shards, a population or 'tfjs' say so", async () => {
    const tokenizer = new MockTokenizer();
    const model = createGptModel({
      config: {
        vocabSize: tokenizer.vocabSize,
        contextLength: 32,
        embeddingSize: 16,
        layerCount: 1,
        headCount: 2,
        eosTokenId: tokenizer.eosTokenId,
      },
      seed: 1,
    });
    const policy = new GptPolicy({ model, tokenizer });
    const population = { schedule: ['erl'], everyEpisodes: 8, seed: 3 };
    expect(learnerOf(resolveAppConfig({}), policy)).toBe('onnx');
    expect(learnerOf(resolveAppConfig({ engine: { learner: 'tfjs' } }), policy)).toBe('tfjs');
    expect(learnerOf(resolveAppConfig({ engine: { learnerShards: 2 } }), policy)).toBe('tfjs');
    expect(learnerOf(resolveAppConfig({ engine: { learnerWorkers: 1 } }), policy)).toBe('tfjs');
    expect(learnerOf(resolveAppConfig({ population }), policy)).toBe('tfjs');
    // A Llama-family policy too, with or without LoRA, unless told otherwise.
    const llama = tinyLlamaPolicy({});
    expect(learnerOf(resolveAppConfig({}), llama.policy)).toBe('onnx');
    expect(learnerOf(resolveAppConfig({ engine: { learner: 'tfjs' } }), llama.policy)).toBe('tfjs');
    llama.model.dispose();
    const adapted = tinyLlamaPolicy({ lora: { rank: 2 } });
    expect(learnerOf(resolveAppConfig({}), adapted.policy)).toBe('onnx');
    expect(learnerOf(resolveAppConfig({ population }), adapted.policy)).toBe('tfjs');
    adapted.model.dispose();
    for (const config of [
      resolveAppConfig({}),
      resolveAppConfig({ engine: { learner: 'onnx' } }),
    ]) {
      const configured = await createConfiguredLearner(policy, config);
      try {
        expect(configured?.learner).toBeInstanceOf(OnnxPolicyLearner);
        expect(configured?.model).toBe(model);
        await configured!.learner.setWeights(model);
      } finally {
        await configured?.learner.dispose();
      }
    }
    const onTfjs = await createConfiguredLearner(
      policy,
      resolveAppConfig({ engine: { learner: 'tfjs' } }),
    );
    expect(onTfjs?.learner).toBeInstanceOf(SequentialShardLearner);
    await onTfjs?.learner.dispose();
    model.dispose();
  });
});

describe('resolvedEngines', () => {
  it('names the runtimes a built trainer runs on: the defaults, what the config sets, and the fallback of an unshardable objective', async () => {
    const defaults = resolveAppConfig({});
    const built = await createTrainer({ config: defaults });
    expect(resolvedEngines(built, defaults)).toEqual({
      sampler: 'onnx',
      reference: 'onnx',
      learner: 'onnx',
    });
    await built.stages.policyLearner?.dispose();
    const onTfjs = resolveAppConfig({
      engine: { sampler: 'tfjs', reference: 'tfjs', learner: 'tfjs' },
    });
    const tfjsTrainer = await createTrainer({ config: onTfjs });
    expect(resolvedEngines(tfjsTrainer, onTfjs)).toEqual({
      sampler: 'tfjs',
      reference: 'tfjs',
      learner: 'tfjs',
    });
    await tfjsTrainer.stages.policyLearner?.dispose();
    // 'onnx' asked for, but a loss over prompt groups cannot be split: the trainer learns on tfjs.
    const unshardable = resolveAppConfig({
      engine: { learner: 'onnx' },
      trainer: {
        objective: { preset: 'grpo', aggregation: 'prompt-mean', aggregationGroupSize: 4 },
      },
    });
    const fallback = await createTrainer({ config: unshardable });
    expect(fallback.stages.policyLearner).toBeUndefined();
    expect(resolvedEngines(fallback, unshardable)?.learner).toBe('tfjs');
    const proxy = resolveAppConfig({
      policy: { type: 'proxy', baseModelDirectory: 'models/base' },
    });
    expect(resolvedEngines(fallback, proxy)).toBeUndefined();
  });
});

describe('engine.learnerShards', () => {
  it('defaults to 4 shards for a tfjs-lm policy in the main thread, else to one pass, and warns only when set', async () => {
    const population = { schedule: ['erl'], everyEpisodes: 8, seed: 3 };
    expect(learnerShardsOf(resolveAppConfig({}))).toBe(defaultLearnerShards);
    expect(defaultLearnerShards).toBe(4);
    expect(learnerShardsOf(resolveAppConfig({ engine: { learnerShards: 1 } }))).toBe(1);
    expect(learnerShardsOf(resolveAppConfig({ engine: { learnerShards: 8 } }))).toBe(8);
    expect(learnerShardsOf(resolveAppConfig({ engine: { learnerWorkers: 2 } }))).toBe(1);
    expect(learnerShardsOf(resolveAppConfig({ population }))).toBe(1);
    const proxy = { type: 'proxy', baseModelDirectory: 'models/base' };
    expect(learnerShardsOf(resolveAppConfig({ policy: proxy }))).toBe(1);
    expect(engineWarnings(resolveAppConfig({ policy: proxy })).join('\n')).not.toMatch(
      /learnerShards/,
    );
    // A tfjs learner in the main thread (a tfjs-lm policy learns on ONNX Runtime unless told).
    const { model, policy } = tinyLlamaPolicy({});
    const configured = await createConfiguredLearner(
      policy,
      resolveAppConfig({ engine: { learner: 'tfjs' } }),
    );
    expect(configured?.learner).toBeInstanceOf(SequentialShardLearner);
    expect(configured?.learner.workerCount).toBe(4);
    expect(configured?.model).toBe(model);
    model.dispose();
  });

  it('learns in shards in the main thread on the policy model itself, and refuses a combination with workers', async () => {
    const { model, policy } = tinyLlamaPolicy({});
    const configured = await createConfiguredLearner(
      policy,
      resolveAppConfig({ engine: { learnerShards: 4 } }),
    );
    expect(configured?.learner).toBeInstanceOf(SequentialShardLearner);
    expect(configured?.learner.workerCount).toBe(4);
    expect(configured?.model).toBe(model);
    model.dispose();
    expect(() => resolveAppConfig({ engine: { learnerShards: 2, learnerWorkers: 2 } })).toThrow(
      /engine\.learnerShards.*learnerWorkers 2 already splits it/s,
    );
    expect(() => resolveAppConfig({ engine: { learnerShards: 0 } })).toThrow(/learnerShards/);
    const proxy = { type: 'proxy', baseModelDirectory: 'models/base' };
    expect(
      engineWarnings(resolveAppConfig({ policy: proxy, engine: { learnerShards: 2 } })),
    ).toEqual(
      expect.arrayContaining([
        expect.stringContaining('engine.learnerShards 2 applies to tfjs-lm'),
      ]),
    );
  });
});
