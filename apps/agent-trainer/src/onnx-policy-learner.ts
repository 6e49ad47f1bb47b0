import { InvalidArgumentError } from '@cohort/core';
import { GptModel, LlamaModel } from '@cohort/tfjs';
import type {
  DataParallelBatch,
  DataParallelGradients,
  ShardGradientLearner,
} from '@cohort/tfjs/node';
import {
  type PolicyShardItem,
  type PolicyShardShared,
  policyShardObjective,
} from '@cohort/trainer';
import type { OnnxLearner, OnnxLearnerPool } from '@cohort/transformers/onnx';
import * as tf from '@tensorflow/tfjs';

/**
 * The policy-learning stage's gradients on the ONNX learning engine, as a
 * one-shard {@link ShardGradientLearner}: ONNX Runtime gives the minibatch's
 * per-token log-probs and entropies (the forward graph), tfjs differentiates
 * the trainer's own shard objective (`policyShardObjective`, the same code
 * the tfjs learners run) with respect to them alone, and the hand-written
 * backward graph of the model's family (GPT-2 or Llama) turns those `[B, T]`
 * gradients into the weights' gradients.
 * The forward pass runs twice (once for the objective's inputs, once inside
 * the backward graph). A LoRA model's frozen base is read once.
 *
 * @example
 * ```ts
 * const learner = await createOnnxPolicyLearner({ model: policy.model });
 * const trainer = new GrpoTrainer({ ..., dataParallel: { learner, model: policy.model } });
 * ```
 */
export class OnnxPolicyLearner implements ShardGradientLearner {
  readonly workerCount = 1;
  private model: GptModel | LlamaModel;
  private readonly learner: OnnxLearner | OnnxLearnerPool;

  constructor(model: GptModel | LlamaModel, learner: OnnxLearner | OnnxLearnerPool) {
    this.model = model;
    this.learner = learner;
  }

  /**
   * The weights are read from the model at every call, so this only follows
   * another model of the same config (a population member), reading a LoRA
   * model's frozen base anew.
   */
  async setWeights(model: unknown): Promise<void> {
    if (model === this.model) return;
    const sameFamily =
      (model instanceof LlamaModel && this.model instanceof LlamaModel) ||
      (model instanceof GptModel && this.model instanceof GptModel);
    if (
      !sameFamily ||
      JSON.stringify(model.config) !== JSON.stringify(this.model.config) ||
      JSON.stringify(loraOf(model)) !== JSON.stringify(loraOf(this.model))
    ) {
      throw new InvalidArgumentError({
        argument: 'model',
        value:
          model instanceof LlamaModel
            ? model.config.modelType
            : (model?.constructor?.name ?? typeof model),
        message: `must be a ${this.model.constructor.name} of the config (and LoRA options) this ONNX learner was built for`,
      });
    }
    if (model instanceof LlamaModel && model.lora !== undefined)
      await this.learner.setFrozenWeights(model.baseVariables());
    this.model = model;
  }

  async computeGradients<Item, Shared>(
    batch: DataParallelBatch<Item, Shared>,
  ): Promise<DataParallelGradients> {
    const started = performance.now();
    const items = batch.items as unknown as PolicyShardItem[];
    const shared = batch.shared as unknown as PolicyShardShared;
    const sequences = items.map((item) => item.sequence);
    const onnxBatch = { sequences, temperature: shared.temperature };
    const weights = this.model.namedVariables();
    const forward = await this.learner.logProbs(weights, onnxBatch);
    const logProbs = tf.tensor2d(forward.logProbs, forward.shape);
    const entropy = tf.tensor2d(forward.entropy, forward.shape);
    let metrics: Record<string, number> = {};
    let extras: unknown;
    const { value, grads } = tf.valueAndGrads((...inputs: tf.Tensor[]) => {
      const [logp, ent] = inputs as [tf.Tensor2D, tf.Tensor2D];
      const result = policyShardObjective({ items, shared, tf, logProbs: logp, entropy: ent });
      metrics = result.metrics ?? {};
      extras = result.extras;
      // tfjs refuses a gradient with respect to an input the loss does not use (an objective with no
      // entropy term): a zero-weighted term keeps the entropy connected, its gradient exactly 0.
      return result.loss.add(ent.sum().mul(0)) as tf.Scalar;
    })([logProbs, entropy]);
    const loss = (await value.data())[0] as number;
    const [dLogp, dEntropy] = grads as [tf.Tensor, tf.Tensor];
    const upstream = [
      (await dLogp.data()) as Float32Array,
      (await dEntropy.data()) as Float32Array,
    ];
    tf.dispose([value, dLogp, dEntropy, logProbs, entropy]);
    const { gradients } = await this.learner.gradients(
      weights,
      onnxBatch,
      upstream[0] as Float32Array,
      upstream[1] as Float32Array,
    );
    return {
      loss,
      gradients,
      workerSeconds: [(performance.now() - started) / 1000],
      metrics,
      extras: [extras],
    };
  }

  /** Per-token log-probs on ONNX Runtime (the forward graph alone), one row per sequence. */
  async scoreLogProbs(
    sequences: readonly (readonly number[])[],
    temperature: number,
  ): Promise<number[][]> {
    const forward = await this.learner.logProbs(this.model.namedVariables(), {
      sequences,
      temperature,
    });
    const width = forward.shape[1];
    return sequences.map((sequence, row) =>
      Array.from(forward.logProbs.subarray(row * width, row * width + sequence.length)),
    );
  }

  async dispose(): Promise<void> {
    await this.learner.release();
  }
}

/**
 * Sequences per ONNX Runtime run of the policy learner. On the default run's
 * model (bench/onnx-learner-memory.ts, batches of 8 x 120-220 tokens) the
 * learner's peak over its opened size was ~160 MB with the 8 in one run, ~95
 * MB with 4, ~70 MB with 2 and ~55 MB with 1, at the same seconds per
 * minibatch within noise; ONNX Runtime's session options (no CPU arena, no
 * memory pattern) cut nothing and the arena's absence slowed it 2x. The whole
 * default run (100 steps, one core, alternating, 4 runs each) peaked at
 * 437-458 MB with 1 against 480-499 MB with 2, in 59-63 s against 49-63 s.
 */
export const onnxPolicySequencesPerRun = 1;

function loraOf(model: GptModel | LlamaModel): unknown {
  return model instanceof LlamaModel ? model.lora : undefined;
}

/**
 * Creates an {@link OnnxPolicyLearner} for a GPT-2 or Llama-family policy
 * model (LoRA or not): builds its family's learning graphs and opens their
 * ONNX Runtime sessions (`intraOpNumThreads`, default 1, one sequence per
 * run), or, with `workers` above 1, an `OnnxLearnerPool` of that many worker
 * threads of one ONNX Runtime thread each, which split each minibatch's
 * sequences and run their shares in runs of up to 1024 tokens.
 *
 * @example
 * ```ts
 * const learner = await createOnnxPolicyLearner({ model: policy.model, padTokenId: tokenizer.padTokenId });
 * ```
 */
export async function createOnnxPolicyLearner(options: {
  model: GptModel | LlamaModel;
  padTokenId: number;
  intraOpNumThreads?: number;
  workers?: number;
}): Promise<OnnxPolicyLearner> {
  const { model } = options;
  // Loaded only for this engine: ONNX Runtime's native module is not needed by tfjs runs.
  const { createOnnxGptLearner, createOnnxLlamaLearner, createOnnxLearnerPool } = await import(
    '@cohort/transformers/onnx'
  );
  const lora = model instanceof LlamaModel ? model.lora : undefined;
  const session = {
    padTokenId: options.padTokenId,
    sequencesPerRun: onnxPolicySequencesPerRun,
  };
  const workers = options.workers ?? 1;
  let learner: OnnxLearner | OnnxLearnerPool;
  if (workers > 1) {
    // Each worker runs its share in runs of up to defaultPoolTokensPerRun tokens, not one
    // sequence at a time: the pool spends memory for speed (see defaultPoolTokensPerRun).
    const pooled = { padTokenId: options.padTokenId, workerCount: workers };
    learner =
      model instanceof GptModel
        ? await createOnnxLearnerPool({ family: 'gpt2', config: model.config, ...pooled })
        : await createOnnxLearnerPool({
            family: 'llama',
            config: model.config,
            ...pooled,
            ...(lora !== undefined ? { lora } : {}),
          });
  } else {
    const threads =
      options.intraOpNumThreads !== undefined
        ? { intraOpNumThreads: options.intraOpNumThreads }
        : {};
    learner =
      model instanceof GptModel
        ? await createOnnxGptLearner({ config: model.config, ...session, ...threads })
        : await createOnnxLlamaLearner({
            config: model.config,
            ...session,
            ...threads,
            ...(lora !== undefined ? { lora } : {}),
          });
  }
  if (model instanceof LlamaModel && lora !== undefined)
    await learner.setFrozenWeights(model.baseVariables());
  return new OnnxPolicyLearner(model, learner);
}
