import type { ReferenceModel, Scenario } from '@cohort/core';
import { GptPolicy, GptReferenceModel, LlamaPolicy, LlamaReferenceModel } from '@cohort/tfjs';
import {
  createDataParallelLearner,
  createSequentialShardLearner,
  type DataParallelLearner,
  type SequentialShardLearner,
} from '@cohort/tfjs/node';
import { type GrpoTrainer, policyShardLossModule, type TrainablePolicy } from '@cohort/trainer';
import {
  createOnnxReferenceModel,
  createOnnxSampledPolicy,
  OnnxReferenceModel,
  OnnxSampledPolicy,
} from '@cohort/transformers/onnx';
import type { AppConfig } from './app-config';
import { createOnnxPolicyLearner, OnnxPolicyLearner } from './onnx-policy-learner';

/** The sampler a config asks for: `engine.sampler`, else ONNX Runtime for a tfjs-lm policy. */
export function samplerOf(config: AppConfig): 'onnx' | 'tfjs' {
  return config.engine.sampler ?? (config.policy.type === 'tfjs-lm' ? 'onnx' : 'tfjs');
}

/** The reference engine a config asks for: `engine.reference`, else ONNX Runtime for a tfjs-lm policy. */
export function referenceEngineOf(config: AppConfig): 'onnx' | 'tfjs' {
  return config.engine.reference ?? (config.policy.type === 'tfjs-lm' ? 'onnx' : 'tfjs');
}

/**
 * The KL reference the trainer scores: a tfjs-lm policy's frozen tfjs
 * reference (a GPT-2 or Llama copy, or a LoRA model with adapters off)
 * exported once to ONNX Runtime when the config's reference engine is
 * `'onnx'`, else the reference itself.
 *
 * @example
 * ```ts
 * const referenceModel = await withConfiguredReference(tfjsReference, policy, config);
 * ```
 */
export async function withConfiguredReference(
  referenceModel: ReferenceModel,
  policy: TrainablePolicy,
  config: AppConfig,
): Promise<ReferenceModel> {
  if (config.policy.type !== 'tfjs-lm' || referenceEngineOf(config) !== 'onnx') {
    return referenceModel;
  }
  if (
    (referenceModel instanceof GptReferenceModel ||
      referenceModel instanceof LlamaReferenceModel) &&
    (policy instanceof GptPolicy || policy instanceof LlamaPolicy)
  ) {
    return createOnnxReferenceModel({
      model: referenceModel.model,
      padTokenId: policy.tokenizer.padTokenId,
    });
  }
  return referenceModel;
}

/**
 * The learner a config gives a policy: `engine.learner`, else ONNX Runtime
 * for a `tfjs-lm` policy, GPT-2 or Llama family, that sets no
 * `learnerWorkers`, no `learnerShards` and no population, else tfjs. Measured
 * on the default run (bench/grpo-step-engines.ts --sides learner, load 3.2):
 * 1.28 s per step against 2.03 s (update 0.39 against 1.11 s); 100-step
 * default runs of seeds 0, 11, 12 reached held-out reward 0.979, 0.946, 0.979
 * against tfjs's 0.999, 0.888, 1.011 (the same learning within noise). On
 * the round-10 SFT tool agent (0.5M Llama, support desk, 4 x 4 episodes,
 * context 2048, 6 steps, each run on its own core at the same time) the ONNX
 * update took 1.1-4.0 s against 4.6-8.3 s on tfjs (4 shards), the run 28 s
 * against 54 s, at a peak of 2124 MB against 1824 MB; without ONNX Runtime's
 * arena for long contexts, 22 s at 1988 MB against 49 s at 1902 MB; with the
 * behaviour log-probs recomputed on ONNX Runtime too, 15-29 s at 966-1053 MB
 * against tfjs's 49 s at 1902-1927 MB.
 */
export function learnerOf(config: AppConfig, policy?: TrainablePolicy): 'onnx' | 'tfjs' {
  if (config.engine.learner !== undefined) return config.engine.learner;
  const untouched =
    config.engine.learnerWorkers === 0 &&
    config.engine.learnerShards === undefined &&
    config.population === undefined;
  const trainable = policy instanceof GptPolicy || policy instanceof LlamaPolicy;
  return config.policy.type === 'tfjs-lm' && trainable && untouched ? 'onnx' : 'tfjs';
}

/**
 * In-thread learner shards when `engine.learnerShards` is not set: the same
 * update (in float32 up to summation order) with a quarter of the learner's
 * activation peak. The default 100-step run from the build, side by side
 * (bench/start-modes.ts, load ~11): peak RSS 560 MB at 1 shard, 462 at 2,
 * 410 at 4; wall time 1.00x, 0.99x, 0.95x; the same held-out success. One
 * after another at load 4-5 (10 steps, 2 rounds): 556 -> 399 MB at 1.09x the
 * wall time (more, smaller kernels).
 */
export const defaultLearnerShards = 4;

/**
 * The shards a tfjs learner splits each minibatch into: `engine.learnerShards`,
 * else {@link defaultLearnerShards} for a tfjs-lm policy that learns in the main
 * thread (no `learnerWorkers`, no population), else 1 (one pass). A policy
 * that {@link learnerOf} puts on ONNX Runtime (the default run's GPT-2) does
 * not shard: its learner runs `onnxPolicySequencesPerRun` sequences at a time.
 */
export function learnerShardsOf(config: AppConfig): number {
  if (config.engine.learnerShards !== undefined) return config.engine.learnerShards;
  if (config.engine.learner === 'onnx') return 1;
  const inMainThread = config.engine.learnerWorkers === 0 && config.population === undefined;
  return config.policy.type === 'tfjs-lm' && inMainThread ? defaultLearnerShards : 1;
}

/**
 * The policy the trainer drives: a tfjs-lm policy (GPT-2 or Llama family)
 * wrapped to sample on ONNX Runtime when the config's sampler is `'onnx'`,
 * else the policy itself.
 *
 * @example
 * ```ts
 * const policy = await withConfiguredSampler(tfjsPolicy, config);
 * ```
 */
export async function withConfiguredSampler(
  policy: TrainablePolicy,
  config: AppConfig,
): Promise<TrainablePolicy> {
  if (config.policy.type !== 'tfjs-lm' || samplerOf(config) !== 'onnx') return policy;
  if (policy instanceof GptPolicy || policy instanceof LlamaPolicy) {
    return createOnnxSampledPolicy({ policy });
  }
  return policy;
}

/**
 * The sharded learner of a tfjs-lm policy: `engine.learnerWorkers` worker
 * threads holding replicas of the policy's GPT-2 or Llama-family model (with
 * LoRA only the adapters cross threads), or {@link learnerShardsOf} shards
 * run one after another in this thread; else (one pass) undefined.
 *
 * @example
 * ```ts
 * const dataParallel = await createConfiguredLearner(policy, config);
 * ```
 */
export async function createConfiguredLearner(
  policy: TrainablePolicy,
  config: AppConfig,
): Promise<
  | {
      learner: DataParallelLearner | SequentialShardLearner | OnnxPolicyLearner;
      model: GptPolicy['model'] | LlamaPolicy['model'];
    }
  | undefined
> {
  const { learnerWorkers } = config.engine;
  const learnerShards = learnerShardsOf(config);
  if (!(policy instanceof GptPolicy || policy instanceof LlamaPolicy)) return undefined;
  if (learnerOf(config, policy) === 'onnx') {
    const learner = await createOnnxPolicyLearner({
      model: policy.model,
      padTokenId: policy.tokenizer.padTokenId,
      // learnerWorkers with learner 'onnx': a pool of ONNX Runtime workers splits each minibatch.
      ...(learnerWorkers > 1 ? { workers: learnerWorkers } : {}),
    });
    return { learner, model: policy.model };
  }
  const lossModule = policyShardLossModule();
  if (learnerWorkers === 0) {
    if (learnerShards === 1) return undefined;
    const learner = await createSequentialShardLearner({ lossModule, shardCount: learnerShards });
    return { learner, model: policy.model };
  }
  const common = { lossModule, workerCount: learnerWorkers };
  if (policy instanceof GptPolicy) {
    const learner = await createDataParallelLearner({ ...common, config: policy.model.config });
    return { learner, model: policy.model };
  }
  const { model } = policy;
  const learner = await createDataParallelLearner({
    ...common,
    llama: { config: model.config, ...(model.lora === undefined ? {} : { lora: model.lora }) },
  });
  return { learner, model };
}

/** The runtime of each stage of a built trainer, as the `engine` fields name them. */
export interface ResolvedEngines {
  sampler: 'onnx' | 'tfjs';
  reference: 'onnx' | 'tfjs';
  learner: 'onnx' | 'tfjs';
}

/**
 * The engines a built trainer of a tfjs-lm policy actually runs on (after
 * every default and fallback: an objective whose loss cannot be split keeps
 * even `learner: 'onnx'` on tfjs), so that `config.resolved.json`, the summary
 * and the console can say which runtime sampled, scored and learned. Undefined
 * for other policies, which the `engine` settings do not apply to.
 *
 * @example
 * ```ts
 * resolvedEngines(trainer, config); // { sampler: 'onnx', reference: 'onnx', learner: 'onnx' } for the default run
 * ```
 */
export function resolvedEngines(
  trainer: GrpoTrainer<Scenario>,
  config: AppConfig,
): ResolvedEngines | undefined {
  if (config.policy.type !== 'tfjs-lm') return undefined;
  return {
    sampler: trainer.policy instanceof OnnxSampledPolicy ? 'onnx' : 'tfjs',
    reference: trainer.referenceModel instanceof OnnxReferenceModel ? 'onnx' : 'tfjs',
    learner: trainer.stages.policyLearner instanceof OnnxPolicyLearner ? 'onnx' : 'tfjs',
  };
}

/** Engine settings that this run cannot honour, as warnings (never silence). */
export function engineWarnings(config: AppConfig): string[] {
  const warnings: string[] = [];
  if (config.engine.sampler === 'onnx' && config.policy.type !== 'tfjs-lm') {
    warnings.push(
      `engine.sampler 'onnx' applies to tfjs-lm policies; a ${config.policy.type} policy samples with its own loop, so it has no effect here`,
    );
  }
  if (samplerOf(config) === 'onnx' && config.trainer.behaviorLogProbs === 'sampler') {
    warnings.push(
      "engine.sampler 'onnx' with trainer.behaviorLogProbs 'sampler': the ratio's old log-probs are ONNX Runtime's, which differ from the learner's by float32 rounding; 'recompute' removes that bias",
    );
  }
  if (config.engine.reference === 'onnx' && config.policy.type !== 'tfjs-lm') {
    warnings.push(
      `engine.reference 'onnx' applies to tfjs-lm policies; a ${config.policy.type} policy scores its own reference, so it has no effect here`,
    );
  }
  if (config.engine.learner === 'onnx' && config.policy.type !== 'tfjs-lm') {
    warnings.push(
      `engine.learner 'onnx' applies to tfjs-lm policies (GPT-2 or Llama family); a ${config.policy.type} policy learns on tfjs`,
    );
  }
  if (config.engine.learnerWorkers > 0 && config.policy.type !== 'tfjs-lm') {
    warnings.push(
      `engine.learnerWorkers ${config.engine.learnerWorkers} applies to tfjs-lm policies; a ${config.policy.type} policy learns in the main thread`,
    );
  }
  if ((config.engine.learnerShards ?? 1) > 1 && config.policy.type !== 'tfjs-lm') {
    warnings.push(
      `engine.learnerShards ${config.engine.learnerShards} applies to tfjs-lm policies; a ${config.policy.type} policy learns its minibatch in one pass`,
    );
  }
  return warnings;
}
