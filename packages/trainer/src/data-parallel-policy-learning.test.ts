import { Random } from '@cohort/core';
import { expectArraysClose, MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment } from '@cohort/environments';
import { createObjective, type ObjectiveOptions } from '@cohort/objectives';
import {
  createGptModel,
  createLlamaModel,
  createOptimizer,
  GptPolicy,
  initializeBackend,
  LlamaPolicy,
  randomGpt2Weights,
  randomLlamaWeights,
} from '@cohort/tfjs';
import {
  createDataParallelLearner,
  createSequentialShardLearner,
  type DataParallelLearner,
  DataParallelWorkerError,
  type ShardGradientLearner,
} from '@cohort/tfjs/node';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpoTrainer } from './grpo-trainer';
import { learnPolicy } from './policy-learning-stage';
import { policyShardLossModule } from './policy-shard-loss-module';
import { fixtureTrajectory } from './stage-test-fixtures';
import type { OptimizerStepResult, PolicyOptimizer } from './trainable-policy';

const tokenizer = new MockTokenizer();
const config = {
  vocabSize: tokenizer.vocabSize,
  contextLength: 192,
  embeddingSize: 16,
  layerCount: 2,
  headCount: 2,
};

function freshPolicy(): GptPolicy {
  const model = createGptModel({ config, seed: 4 });
  // Non-zero biases and layer-norm gains other than 1, so every parameter matters.
  model.setWeights(randomGpt2Weights({ config, seed: 8, scale: 0.3 }));
  return new GptPolicy({ model, tokenizer });
}

/** Plain gradient descent that keeps a copy of every gradient it applies. */
class RecordingSgd implements PolicyOptimizer {
  readonly applied: Record<string, Float32Array>[] = [];
  private readonly byName = new Map<string, [string, tf.Variable]>();
  private steps = 0;
  constructor(variables: Record<string, tf.Variable>) {
    for (const [key, variable] of Object.entries(variables)) {
      this.byName.set(key, [key, variable]);
      this.byName.set(variable.name, [key, variable]);
    }
  }
  applyGradients(gradients: Record<string, tf.Tensor>): OptimizerStepResult {
    const record: Record<string, Float32Array> = {};
    for (const [name, gradient] of Object.entries(gradients)) {
      const [key, variable] = this.byName.get(name)!;
      record[key] = gradient.dataSync() as Float32Array;
      variable.assign(variable.sub(gradient.mul(0.2)));
    }
    this.applied.push(record);
    this.steps++;
    return { gradNorm: 0, learningRate: 0.2, skipped: false };
  }
  getState(): unknown {
    return { steps: this.steps };
  }
  setState(state: unknown): void {
    this.steps = (state as { steps: number }).steps;
  }
}

/** Trajectories of several lengths (up to 40 tokens), sampled tails of several lengths, advantages of both signs. */
function trajectories() {
  const random = new Random(21);
  const behaviorLogits = Array.from({ length: tokenizer.vocabSize }, () => random.normal());
  return Array.from({ length: 6 }, (_, index) =>
    fixtureTrajectory({
      id: `t${index}`,
      random,
      behaviorLogits,
      length: 18 + index * 4,
      sampled: 3 + index * 2,
      reward: 0,
    }),
  );
}

async function learn(options: {
  objective: ObjectiveOptions;
  learner?: ShardGradientLearner;
  minibatchSize: number;
  policy?: GptPolicy | LlamaPolicy;
}) {
  const policy = options.policy ?? freshPolicy();
  const optimizer = new RecordingSgd(policy.namedVariables());
  const rows = trajectories();
  const result = await learnPolicy({
    policy,
    optimizer,
    objective: createObjective(options.objective),
    trajectories: rows,
    advantagesPerToken: rows.map((trajectory, row) =>
      trajectory.tokenIds.map(() => (row % 2 === 0 ? 0.8 + row * 0.1 : -1.1)),
    ),
    refLogProbsPerToken: rows.map((trajectory) =>
      trajectory.tokenIds.map((_, position) => -3 - 0.05 * position),
    ),
    klCoefficient: 0.05,
    epochs: 1,
    minibatchSize: options.minibatchSize,
    gradientAccumulationSteps: 1,
    maskTruncated: false,
    temperature: 0.9,
    random: new Random(3),
    recomputeBehaviorLogProbs: true,
    warn: () => {},
    ...(options.learner
      ? {
          workers: {
            learner: options.learner,
            model: policy.model,
            objectiveConfig: options.objective,
            padTokenId: tokenizer.padTokenId,
          },
        }
      : {}),
  });
  return { result, optimizer, policy };
}

function bytesOf(policy: GptPolicy | LlamaPolicy): Buffer[] {
  return policy.model
    .trainableVariables()
    .map((variable) => Buffer.from((variable.dataSync() as Float32Array).buffer));
}

let learner: DataParallelLearner;

beforeAll(async () => {
  await initializeBackend({ backend: 'wasm', logger: false });
  learner = await createDataParallelLearner({
    config,
    lossModule: policyShardLossModule(),
    workerCount: 2,
  });
});
afterAll(async () => {
  await learner?.dispose();
});

describe('data-parallel policy learning', () => {
  it.each([
    ['sequence-mean (grpo)', { preset: 'grpo' }],
    ['token-mean (dapo)', { preset: 'dapo' }],
    ['constant (drGrpo)', { preset: 'drGrpo' }],
  ] as const)(
    'computes the gradients and metrics of the in-thread stage: %s',
    async (_, objective) => {
      // Two optimizer steps: the second minibatch's old log-probs are the pre-update learner's.
      const inThread = await learn({ objective, minibatchSize: 4 });
      const sharded = await learn({ objective, learner, minibatchSize: 4 });
      expect(sharded.result.applied).toBe(2);
      for (const step of [0, 1]) {
        for (const [name, gradient] of Object.entries(inThread.optimizer.applied[step]!)) {
          const values = Array.from(gradient);
          expect(Math.max(...values.map(Math.abs)), name).toBeGreaterThan(0);
          expectArraysClose(Array.from(sharded.optimizer.applied[step]![name]!), values, 2e-5);
        }
      }
      expect(sharded.result.loss).toBeCloseTo(inThread.result.loss, 5);
      expect(sharded.result.clipFractionLow).toBeCloseTo(inThread.result.clipFractionLow, 5);
      expect(sharded.result.approxKlToOld).toBeCloseTo(inThread.result.approxKlToOld, 5);
      expect(sharded.result.entropy).toBeCloseTo(inThread.result.entropy, 4);
      expect(sharded.result.logProbMismatch!.max).toBeCloseTo(
        inThread.result.logProbMismatch!.max,
        4,
      );
      sharded.result.entropyPerToken.forEach((row, index) => {
        expectArraysClose(row, inThread.result.entropyPerToken[index]!, 1e-4);
      });
    },
  );

  it('learns in this thread in shards exactly as that many workers do (a SequentialShardLearner)', async () => {
    const shards = await createSequentialShardLearner({
      lossModule: policyShardLossModule(),
      shardCount: 2,
    });
    for (const objective of [{ preset: 'grpo' }, { preset: 'dapo' }] as const) {
      const inShards = await learn({ objective, learner: shards, minibatchSize: 4 });
      const onWorkers = await learn({ objective, learner, minibatchSize: 4 });
      expect(inShards.result.applied).toBe(2);
      expect(bytesOf(inShards.policy)).toEqual(bytesOf(onWorkers.policy));
      expect(inShards.result.loss).toBe(onWorkers.result.loss);
      expect(inShards.result.entropyPerToken).toEqual(onWorkers.result.entropyPerToken);
      // The update moved the weights away from the start.
      expect(bytesOf(inShards.policy)).not.toEqual(bytesOf(freshPolicy()));
    }
  });

  it("takes the recomputed log-probs of the rows outside the first minibatch from the learner's scoreLogProbs when it has one", async () => {
    const shards = await createSequentialShardLearner({
      lossModule: policyShardLossModule(),
      shardCount: 2,
    });
    const objective = { preset: 'grpo' } as const;
    const calls: { sequences: number; temperature: number }[] = [];
    /** The shard learner, scoring on its own: the policy's log-probs plus `offset`. */
    const scoring = (policy: GptPolicy | LlamaPolicy, offset: number): ShardGradientLearner => ({
      workerCount: shards.workerCount,
      setWeights: (model) => shards.setWeights(model),
      computeGradients: (batch) => shards.computeGradients(batch),
      dispose: async () => {},
      async scoreLogProbs(sequences, temperature) {
        calls.push({ sequences: sequences.length, temperature });
        const rows = tf.tidy(
          () => policy.tokenLogProbs({ sequences, temperature }).logProbs.arraySync() as number[][],
        );
        return sequences.map((sequence, row) =>
          rows[row]!.slice(0, sequence.length).map((value, t) => (t === 0 ? 0 : value + offset)),
        );
      },
    });
    const plain = await learn({ objective, learner: shards, minibatchSize: 4 });
    const samePolicy = freshPolicy();
    const same = await learn({
      objective,
      learner: scoring(samePolicy, 0),
      minibatchSize: 4,
      policy: samePolicy,
    });
    // 6 rows in minibatches of 4: the 2 outside the first are scored, once, at the temperature.
    expect(calls).toEqual([{ sequences: 2, temperature: 0.9 }]);
    expect(bytesOf(same.policy)).toEqual(bytesOf(plain.policy));
    const shiftedPolicy = freshPolicy();
    const shifted = await learn({
      objective,
      learner: scoring(shiftedPolicy, 0.05),
      minibatchSize: 4,
      policy: shiftedPolicy,
    });
    // Other old log-probs in the second minibatch's ratio: another update.
    expect(bytesOf(shifted.policy)).not.toEqual(bytesOf(plain.policy));
    await shards.dispose();
  });

  it('is bit-identical for a fixed worker count', async () => {
    const first = await learn({ objective: { preset: 'dapo' }, learner, minibatchSize: 3 });
    const second = await learn({ objective: { preset: 'dapo' }, learner, minibatchSize: 3 });
    expect(first.result.applied).toBe(2);
    expect(bytesOf(first.policy)).toEqual(bytesOf(second.policy));
  });

  it('fails a step whose worker throws with its error, and puts back the weights, optimizer state and version', async () => {
    const failing = await createDataParallelLearner({
      config,
      lossModule: new URL('./test-fixtures/failing-policy-shard-loss.ts', import.meta.url).href,
      workerCount: 2,
    });
    try {
      const policy = freshPolicy();
      const before = bytesOf(policy);
      // Minibatches of 3: the first step is applied, worker 1 throws in the second.
      const attempt = learn({
        objective: { preset: 'grpo' },
        learner: failing,
        minibatchSize: 3,
        policy,
      });
      await expect(attempt).rejects.toThrow(DataParallelWorkerError);
      await expect(attempt).rejects.toThrow(/worker 1.*told to fail/);
      expect(bytesOf(policy)).toEqual(before);
      expect(policy.version).toBe(0);
      // The learner still works: the worker threw, it did not die.
      const again = await learn({
        objective: { preset: 'grpo' },
        learner: failing,
        minibatchSize: 6,
      });
      expect(again.result.applied).toBe(1);
    } finally {
      await failing.dispose();
    }
  });

  it('resumes a GrpoTrainer with workers exactly', async () => {
    const make = () => {
      const policy = freshPolicy();
      const optimizer = createOptimizer({
        type: 'adam',
        learningRate: 0.01,
        maxGradNorm: 1,
        variables: policy.namedVariables(),
      });
      const trainer = new GrpoTrainer({
        policy,
        optimizer,
        environment: createBanditEnvironment({
          bandit: {
            armMeans: [0.1, 0.3, 0.5, 0.7, 0.9],
            noise: 'gaussian',
            noiseStd: 0.1,
            seed: 5,
          },
        }),
        trainScenarios: [{ id: 'bandit' }],
        // A reward with spread whatever the policy says: the answer's first character code, scaled.
        rewards: [
          {
            reward: {
              name: 'first-character',
              score: ({ completion }) => (completion.charCodeAt(0) || 0) / 128,
            },
            weight: 1,
          },
        ],
        config: {
          seed: 2,
          scenariosPerStep: 2,
          groupSize: 4,
          generation: { maxNewTokens: 2, temperature: 1 },
          maxSequenceLength: 192,
          minibatchSize: 4,
          objective: { preset: 'dapo' },
          behaviorLogProbs: 'recompute',
        },
        dataParallel: { learner, model: policy.model },
      });
      return { policy, optimizer, trainer };
    };
    const straight = make();
    for (let step = 0; step < 3; step++) await straight.trainer.step();
    const interrupted = make();
    await interrupted.trainer.step();
    const saved = {
      weights: interrupted.policy.getWeights(),
      optimizer: structuredClone(interrupted.optimizer.getState()),
      trainer: structuredClone(interrupted.trainer.getState()),
    };
    const resumed = make();
    resumed.policy.setWeights(saved.weights);
    resumed.optimizer.setState(saved.optimizer);
    resumed.trainer.setState(saved.trainer);
    for (let step = 0; step < 2; step++) await resumed.trainer.step();
    expect(resumed.policy.version).toBe(straight.policy.version);
    expect(straight.policy.version).toBeGreaterThan(1);
    expect(bytesOf(resumed.policy)).toEqual(bytesOf(straight.policy));
  });
});

const llamaConfig = {
  modelType: 'qwen2' as const,
  vocabSize: tokenizer.vocabSize,
  hiddenSize: 16,
  intermediateSize: 24,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 2,
  contextLength: 192,
  eosTokenId: tokenizer.eosTokenId,
  bosTokenId: 0,
};

/** A LoRA policy over random base weights (biases, norm weights other than 1) with non-zero adapters. */
function freshLlamaPolicy(): LlamaPolicy {
  const model = createLlamaModel({
    config: llamaConfig,
    lora: { rank: 2, alpha: 4, targets: ['q_proj', 'v_proj', 'up_proj'] },
    seed: 5,
  });
  model.setWeights(randomLlamaWeights({ config: model.config, seed: 7, scale: 0.3 }));
  for (const [name, variable] of Object.entries(model.namedVariables())) {
    if (name.includes('lora_B'))
      variable.assign(tf.randomNormal(variable.shape, 0, 0.2, 'float32', 6));
  }
  return new LlamaPolicy({ model, tokenizer });
}

describe('data-parallel policy learning of a LoRA Llama policy', () => {
  // One learner for the describe (worker start-up is the slow part): its loss
  // module throws once, on worker 1's second request, which the first test uses.
  let llamaLearner: DataParallelLearner;
  beforeAll(async () => {
    const probe = freshLlamaPolicy();
    llamaLearner = await createDataParallelLearner({
      llama: { config: probe.model.config, lora: probe.model.lora! },
      lossModule: new URL('./test-fixtures/failing-policy-shard-loss.ts', import.meta.url).href,
      workerCount: 2,
    });
    probe.model.dispose();
  });
  afterAll(async () => {
    await llamaLearner?.dispose();
  });

  it('fails a step whose worker throws and puts back the adapters, optimizer state and version', async () => {
    const policy = freshLlamaPolicy();
    const before = bytesOf(policy);
    const attempt = learn({
      objective: { preset: 'grpo' },
      learner: llamaLearner,
      minibatchSize: 3,
      policy,
    });
    await expect(attempt).rejects.toThrow(/worker 1.*told to fail/);
    expect(bytesOf(policy)).toEqual(before);
    expect(policy.version).toBe(0);
  });

  it('computes the adapter gradients of the in-thread stage, bit-identically for a fixed worker count', async () => {
    const objective = { preset: 'dapo' } as const;
    const inThread = await learn({ objective, minibatchSize: 4, policy: freshLlamaPolicy() });
    const sharded = await learn({
      objective,
      learner: llamaLearner,
      minibatchSize: 4,
      policy: freshLlamaPolicy(),
    });
    expect(sharded.result.applied).toBe(2);
    for (const step of [0, 1]) {
      const names = Object.keys(inThread.optimizer.applied[step]!);
      expect(names.length).toBeGreaterThan(0);
      expect(names.every((name) => /lora_[AB]/.test(name))).toBe(true);
      for (const name of names) {
        const values = Array.from(inThread.optimizer.applied[step]![name]!);
        expect(Math.max(...values.map(Math.abs)), name).toBeGreaterThan(0);
        expectArraysClose(Array.from(sharded.optimizer.applied[step]![name]!), values, 2e-5);
      }
    }
    expect(sharded.result.loss).toBeCloseTo(inThread.result.loss, 5);
    const again = await learn({
      objective,
      learner: llamaLearner,
      minibatchSize: 4,
      policy: freshLlamaPolicy(),
    });
    expect(bytesOf(again.policy)).toEqual(bytesOf(sharded.policy));
  });
});
