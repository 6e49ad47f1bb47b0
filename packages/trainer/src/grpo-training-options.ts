import { AdvantageEstimatorOptionsSchema } from '@cohort/advantages';
import { parseWithSchema } from '@cohort/core';
import { KlControllerOptionsSchema, KlEstimatorSchema } from '@cohort/kl';
import { ObjectiveOptionsSchema } from '@cohort/objectives';
import { z } from 'zod';

const positiveInteger = z.number().int().positive();

/** Decoding settings for rollouts. */
export const RolloutGenerationOptionsSchema = z
  .object({
    maxNewTokens: positiveInteger.default(48),
    temperature: z.number().positive().max(5).default(1),
    topK: z.number().int().nonnegative().default(0),
    topP: z.number().gt(0).max(1).default(1),
  })
  .strict();

/** Adam or AdamW with global-norm clipping and a schedule. */
export const PolicyOptimizerOptionsSchema = z
  .object({
    type: z.enum(['adam', 'adamw']).default('adamw'),
    learningRate: z.number().positive().max(1).default(1e-4),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: z.number().positive().default(1e-8),
    weightDecay: z.number().min(0).default(0),
    /** Also decay rank-0/1 parameters (biases, norm gains); off by default, as in GPT-2 recipes. */
    decayVectors: z.boolean().default(false),
    maxGradNorm: z.number().positive().default(1),
    schedule: z
      .object({
        type: z.enum(['constant', 'linear', 'cosine']).default('constant'),
        warmupSteps: z.number().int().nonnegative().default(0),
        minLearningRate: z.number().min(0).default(0),
      })
      .strict()
      .default({ type: 'constant', warmupSteps: 0, minLearningRate: 0 }),
  })
  .strict();

/** The KL term to the frozen reference model. */
export const KlOptionsSchema = z
  .object({
    controller: KlControllerOptionsSchema.default({ type: 'fixed', coefficient: 0 }),
    /**
     * The KL estimator of the loss term, the reward penalty and the `klToReference` metric.
     * Omitted: the objective's (its preset's `klEstimator`, k3 for every built-in preset),
     * or the trainer's `klEstimator` instance when one is given.
     */
    estimator: KlEstimatorSchema.optional(),
    /** `loss`: beta * KL in the objective (GRPO); `reward`: subtract beta * sum of the per-token KL from the return (PPO/RLHF). */
    placement: z.enum(['loss', 'reward']).default('loss'),
  })
  .strict();

/** Dynamic sampling (DAPO): drop groups whose rewards all agree, and roll out more. */
export const DynamicSamplingOptionsSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Extra rollout rounds allowed per step to refill dropped groups. */
    maxRefills: z.number().int().nonnegative().default(2),
  })
  .strict();

/** When and how the reference model follows the policy. */
export const ReferenceRefreshOptionsSchema = z
  .object({
    mode: z.enum(['none', 'hard', 'mix']).default('none'),
    everySteps: positiveInteger.default(50),
    /** For `mix`: reference = alpha * policy + (1 - alpha) * reference (TR-DPO style). */
    alpha: z.number().gt(0).max(1).default(0.1),
  })
  .strict();

/** PPO with a learned value function and GAE over per-turn rewards. */
export const ValueOptionsSchema = z
  .object({
    enabled: z.boolean().default(false),
    gamma: z.number().min(0).max(1).default(1),
    lambda: z.number().min(0).max(1).default(0.95),
    /** Clip range of the value loss around the old values; omit for unclipped. */
    clipRange: z.number().positive().optional(),
    learningRate: z.number().positive().default(1e-3),
  })
  .strict();

/** Held-out evaluation. */
export const EvaluationOptionsSchema = z
  .object({
    everySteps: z.number().int().nonnegative().default(10),
    /** Episodes per evaluation scenario. */
    episodesPerScenario: positiveInteger.default(1),
    /** At most this many evaluation scenarios (0: all). */
    maxScenarios: z.number().int().nonnegative().default(0),
    seed: z.number().int().default(1234),
    temperature: z.number().min(0).default(0),
  })
  .strict();

/** Hybrid evolution of the system prompt: a generation every E episodes. */
export const EvolutionOptionsSchema = z
  .object({
    /** Run a generation every this many training episodes; 0 turns evolution off. */
    everyEpisodes: z.number().int().nonnegative().default(0),
    populationSize: z.number().int().min(2).default(6),
    eliteCount: z.number().int().nonnegative().default(1),
    /** Adopt a member's prompt when it beats the trained policy's by this much. */
    adoptionMargin: z.number().min(0).default(0.05),
    /** Evaluation scenarios per fitness evaluation (0: all training scenarios in the fitness set). */
    fitnessScenarios: positiveInteger.default(6),
  })
  .strict();

/**
 * Configuration of {@link GrpoTrainer}. Every field has a default; presets
 * change a few of them. Unknown keys are refused.
 */
export const GrpoTrainingOptionsSchema = z
  .object({
    seed: z.number().int().default(0),
    steps: positiveInteger.default(100),
    /** Scenarios (groups) per step. */
    scenariosPerStep: positiveInteger.default(4),
    /** Episodes per scenario: G. */
    groupSize: z.number().int().min(2).default(8),
    generation: RolloutGenerationOptionsSchema.default(RolloutGenerationOptionsSchema.parse({})),
    /** Longest conversation in tokens; at most the model's context length. */
    maxSequenceLength: positiveInteger.default(256),
    advantage: AdvantageEstimatorOptionsSchema.default({
      type: 'grpo',
      scale: 'group',
      epsilon: 1e-4,
      baseline: 'mean',
      zeroSpreadTolerance: 0,
    }),
    objective: ObjectiveOptionsSchema.default(ObjectiveOptionsSchema.parse({ preset: 'grpo' })),
    kl: KlOptionsSchema.default(KlOptionsSchema.parse({})),
    optimizer: PolicyOptimizerOptionsSchema.default(PolicyOptimizerOptionsSchema.parse({})),
    /** Passes over each batch of rollouts (mu in the GRPO paper). */
    epochs: positiveInteger.default(1),
    /** Trajectories per minibatch. */
    minibatchSize: positiveInteger.default(16),
    /** Minibatches whose gradients are summed before one optimizer step. */
    gradientAccumulationSteps: positiveInteger.default(1),
    dynamicSampling: DynamicSamplingOptionsSchema.default(DynamicSamplingOptionsSchema.parse({})),
    /** Give zero loss weight to trajectories with an agent turn cut by maxNewTokens (DAPO overlong filtering). */
    maskTruncated: z.boolean().default(false),
    referenceRefresh: ReferenceRefreshOptionsSchema.default(
      ReferenceRefreshOptionsSchema.parse({}),
    ),
    /**
     * Where the old-policy log-probs of the ratio come from: `'sampler'` uses
     * the log-probs the sampler recorded; `'recompute'` recomputes them with
     * the learner before the update (verl's way), so a sampler on another
     * engine (ONNX Runtime) never biases the ratio by its float32 rounding,
     * and reports the mismatch `|logp_sampler - logp_learner|` each step.
     */
    behaviorLogProbs: z
      .enum(['sampler', 'recompute'])
      .default('sampler')
      .describe(
        "Old-policy log-probs of the ratio: 'sampler' (as sampled) or 'recompute' (by the learner before the update, as verl does; reports logProbMismatchMax/Mean).",
      ),
    /** Trajectories sampled more than this many weight versions ago are refused. */
    maxPolicyLag: z.number().int().nonnegative().default(0),
    value: ValueOptionsSchema.default(ValueOptionsSchema.parse({})),
    evaluation: EvaluationOptionsSchema.default(EvaluationOptionsSchema.parse({})),
    checkpoint: z
      .object({
        everySteps: z.number().int().nonnegative().default(0),
        keep: positiveInteger.default(2),
      })
      .strict()
      .default({ everySteps: 0, keep: 2 }),
    evolution: EvolutionOptionsSchema.default(EvolutionOptionsSchema.parse({})),
  })
  .strict();

export type GrpoTrainingOptions = z.output<typeof GrpoTrainingOptionsSchema>;
export type GrpoTrainingOptionsInput = z.input<typeof GrpoTrainingOptionsSchema>;

/** Named starting points; a user's config is merged over the preset. */
export const trainerPresets = {
  /** Small steps, KL to the reference, one pass: stable on noisy rewards. */
  conservative: {
    optimizer: { learningRate: 2e-5, maxGradNorm: 0.5 },
    kl: { controller: { type: 'fixed', coefficient: 0.04 } },
    objective: { preset: 'grpo' },
    epochs: 1,
  },
  /** The defaults most GRPO papers report, with a lighter KL. */
  balanced: {
    optimizer: { learningRate: 1e-4 },
    kl: { controller: { type: 'fixed', coefficient: 0.01 } },
    objective: { preset: 'grpo' },
    epochs: 1,
  },
  /** DAPO-style: clip-higher, token-mean, no KL, dynamic sampling, two passes. */
  aggressive: {
    optimizer: { learningRate: 3e-4 },
    kl: { controller: { type: 'fixed', coefficient: 0 } },
    objective: { preset: 'dapo' },
    dynamicSampling: { enabled: true },
    epochs: 2,
  },
} as const satisfies Record<string, GrpoTrainingOptionsInput>;

export type TrainerPresetName = keyof typeof trainerPresets;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Deep merge of plain objects; arrays and scalars from `override` replace. */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override))
    return override === undefined ? base : override;
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) result[key] = mergeConfig(base[key], value);
  return result;
}

/**
 * Validates a trainer config, merged over a preset when one is named, with
 * errors that name the bad field.
 *
 * @example
 * ```ts
 * const config = resolveTrainingOptions({ steps: 20 }, 'balanced');
 * ```
 */
export function resolveTrainingOptions(
  input: unknown,
  preset?: TrainerPresetName,
): GrpoTrainingOptions {
  const merged = preset === undefined ? input : mergeConfig(trainerPresets[preset], input ?? {});
  return parseWithSchema(GrpoTrainingOptionsSchema, merged ?? {}, 'trainer config');
}
