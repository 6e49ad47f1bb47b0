import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError, type ValidationIssue } from '@cohort/core';
import {
  FormatRewardOptionsSchema,
  GoalCompletionRewardOptionsSchema,
  KeywordRewardOptionsSchema,
  LengthRewardOptionsSchema,
  RegexRewardOptionsSchema,
  SupportDeskEnvironmentOptionsSchema,
  SupportDeskLlmUserOptionsSchema,
  supportCategories,
} from '@cohort/environments';
import { LoraOptionsSchema } from '@cohort/tfjs';
import { GrpoTrainingOptionsSchema, mergeConfig, trainerPresets } from '@cohort/trainer';
import { z } from 'zod';
import { configBoundIssues } from './config-bounds';
import { unknownKeyIssues, zodIssuesWithAllowedValues } from './config-issues';
import { PopulationConfigSchema, populationIssues } from './population-config';
import { type PresetName, presetNames } from './preset-names';

export { readConfigFile } from './config-file';

/** Folder of the embedded default chat model that `sft` writes and `train` starts from. */
export const defaultModelDirectory = fileURLToPath(
  new URL('../models/support-agent-tiny', import.meta.url),
);

export { type PresetName, presetNames } from './preset-names';

/**
 * The preset of a config that names none, the same with and without a
 * config file (it was none: a file without `preset:` lost the KL term).
 */
export const defaultPresetName: PresetName = 'balanced';

/** A trainable LM in TensorFlow.js: GPT-2, or the Llama family (Llama, SmolLM, Qwen2, Qwen3) fully or with LoRA. */
const TfjsLmPolicySchema = z
  .object({
    type: z.literal('tfjs-lm'),
    /** Hugging Face folder (config.json, model.safetensors, tokenizer.json). Default: the embedded model. */
    modelDirectory: z.string().min(1).optional(),
    lora: LoraOptionsSchema.optional().describe(
      'train LoRA adapters { rank, alpha, targets } instead of every weight (Llama-family folders); the reference is the base with adapters off',
    ),
  })
  .strict();

/** A frozen transformers.js base model plus a small trainable tfjs logit offset. */
const ProxyPolicySchema = z
  .object({
    type: z.literal('proxy'),
    /** transformers.js model folder (config.json, tokenizer.json, onnx/model.onnx). */
    baseModelDirectory: z.string().min(1),
    /** Size of the trainable offset model. */
    delta: z
      .object({
        layerCount: z.number().int().positive().default(1),
        embeddingSize: z.number().int().positive().default(64),
        headCount: z.number().int().positive().default(2),
      })
      .strict()
      .default({ layerCount: 1, embeddingSize: 64, headCount: 2 }),
  })
  .strict();

/**
 * The candidate selector (GPRO actor-critic): a frozen LM proposes K
 * candidate replies to each query (the opening message of a scenario), a
 * small tfjs actor chooses one from hashed text features, a critic predicts
 * the reward, and an update every M queries trains both. Rewarded by the
 * config's `rewards` (functions, a person on the console with
 * `human-feedback`, or both). `trainer.steps` counts updates; the trainer's
 * `generation`, `seed`, `evaluation` and `checkpoint` settings apply.
 */
const CandidateSelectorPolicySchema = z
  .object({
    type: z.literal('candidate-selector'),
    modelDirectory: z
      .string()
      .min(1)
      .optional()
      .describe(
        'folder of the frozen LM that proposes the candidates (default: the embedded model)',
      ),
    candidates: z.number().int().min(2).max(16).default(4).describe('K: candidates per query'),
    updateEvery: z
      .number()
      .int()
      .positive()
      .max(1024)
      .default(8)
      .describe('M: queries per actor-critic update (one training step)'),
    samplesPerQuery: z
      .number()
      .int()
      .positive()
      .max(64)
      .default(4)
      .describe(
        'choices the actor samples per query, the group of `group` advantages; a person is asked once per query however many (4 gives group advantages room without re-asking)',
      ),
    advantage: z
      .enum(['group', 'critic'])
      .default('group')
      .describe(
        '`group`: relative to the other choices for the same query (GRPO); `critic`: r - V',
      ),
    featureDimension: z
      .number()
      .int()
      .positive()
      .max(65_536)
      .default(256)
      .describe(
        'size of the hashed word features of query + candidate, the input of the actor and the critic',
      ),
    hiddenSize: z
      .number()
      .int()
      .positive()
      .max(4096)
      .default(32)
      .describe('hidden units of the actor and the critic (one layer each)'),
    epochs: z.number().int().positive().max(64).default(4).describe('passes over each batch'),
    learningRate: z
      .number()
      .positive()
      .max(1)
      .default(0.01)
      .describe('Adam learning rate of the actor and the critic (small MLPs learn at 1e-2)'),
    klCoefficient: z
      .number()
      .min(0)
      .default(0.01)
      .describe("weight of the exact KL to the initial actor's choice distribution"),
  })
  .strict();

export const PolicyConfigSchema = z.discriminatedUnion('type', [
  TfjsLmPolicySchema,
  ProxyPolicySchema,
  CandidateSelectorPolicySchema,
]);

const SupportEnvironmentSchema = z
  .object({
    type: z.literal('support'),
    /** Scenario categories to train and evaluate on (default: all). */
    categories: z.array(z.enum(supportCategories)).min(1).optional(),
    /** Per-turn shaping of the conversation environment. */
    turnReward: z.enum(['none', 'criteria-progress']).default('none'),
    /** Append the scenario's context to the system prompt. */
    includeContext: z.boolean().default(true),
  })
  .strict();

const supportDeskOptions = SupportDeskEnvironmentOptionsSchema.shape;
const llmUserOptions = SupportDeskLlmUserOptionsSchema.shape;

/**
 * The customer of the support desk: `scripted` (tells what the agent asks
 * for, ends when asked nothing), or `llm`, a language model that plays the
 * customer from a prompt of its facts: a local transformers.js model
 * (`model`, a folder) or an OpenAI-compatible endpoint (`endpoint`), exactly
 * one of them.
 */
const SupportDeskUserSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('scripted') }).strict(),
  z
    .object({
      type: z.literal('llm'),
      model: z
        .string()
        .min(1)
        .optional()
        .describe(
          'A transformers.js causal LM folder (config.json, tokenizer.json, onnx/model.onnx), run locally with a seed per answer, so its answers are cached.',
        ),
      endpoint: z
        .object({
          baseUrl: z
            .url({
              protocol: /^https?$/,
              error: (issue) =>
                `must be a URL such as http://127.0.0.1:8000/v1, got ${JSON.stringify(issue.input)}`,
            })
            .describe('The API root, for example http://127.0.0.1:8000/v1.'),
          model: z.string().min(1).describe('The model name sent in each request.'),
          apiKeyEnv: z
            .string()
            .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
              error: (issue) =>
                `must be an environment variable name such as OPENAI_API_KEY, got ${JSON.stringify(issue.input)}`,
            })
            .optional()
            .describe(
              'The environment variable that holds the API key (sent as a Bearer token); the key never goes in the config.',
            ),
        })
        .strict()
        .optional()
        .describe(
          'An OpenAI-compatible chat endpoint; its answers are cached only at temperature 0.',
        ),
      temperature: llmUserOptions.temperature,
      maxTokens: llmUserOptions.maxTokens,
      timeoutMs: llmUserOptions.timeoutMs,
      maxCharacters: llmUserOptions.maxCharacters,
      historyMessages: llmUserOptions.historyMessages,
    })
    .strict()
    .superRefine((value, context) => {
      if ((value.model === undefined) === (value.endpoint === undefined)) {
        context.addIssue({
          code: 'custom',
          path: [value.model === undefined ? 'model' : 'endpoint'],
          message:
            value.model === undefined
              ? 'user type "llm" needs model (a local transformers.js folder) or endpoint ({ baseUrl, model })'
              : `user type "llm" takes model or endpoint, not both (model ${JSON.stringify(value.model)})`,
        });
      }
    }),
]);

/**
 * The support desk: a tool environment on a simulated store backend whose
 * task success is the final database state and the facts told, checked by
 * code (tau-bench's retail domain). The environment scores its own episodes
 * (`rewards` weights its terms); the config's `rewards` list adds to that and
 * is empty by default for this environment.
 */
const SupportDeskEnvironmentSchema = z
  .object({
    type: z.literal('support-desk'),
    format: supportDeskOptions.format,
    toolPrompt: supportDeskOptions.toolPrompt
      .unwrap()
      .default('compact')
      .describe(
        'How tools are described in the system prompt; compact (one line per tool) keeps episodes inside small contexts.',
      ),
    maxAgentTurns: supportDeskOptions.maxAgentTurns,
    patience: supportDeskOptions.patience,
    rewards: supportDeskOptions.rewards,
    user: SupportDeskUserSchema.default({ type: 'scripted' }).describe(
      'The customer: `{ type: scripted }` (default), or `{ type: llm, model | endpoint: { baseUrl, model, apiKeyEnv }, temperature, maxTokens, timeoutMs, maxCharacters, historyMessages }`; an LLM answer that is empty, too long or tells what was not asked for is replaced by the scripted answer, counted in the summary.',
    ),
    trainTasks: z
      .number()
      .int()
      .positive()
      .max(10_000)
      .default(40)
      .describe('Generated training tasks (kinds take turns).'),
    evalTasks: z
      .number()
      .int()
      .positive()
      .max(10_000)
      .default(20)
      .describe(
        'Generated held-out tasks: customers, products and policies never seen in training.',
      ),
  })
  .strict();

const BanditEnvironmentSchema = z
  .object({
    type: z.literal('bandit'),
    armMeans: z.array(z.number().finite()).min(2).default([0.2, 0.5, 0.8]),
    noise: z.enum(['gaussian', 'bernoulli']).default('bernoulli'),
    drift: z
      .object({
        every: z.number().int().positive(),
        kind: z.enum(['swap', 'random-walk']),
        scale: z.number().nonnegative().finite().default(0.1),
      })
      .strict()
      .optional(),
  })
  .strict();

const ModuleEnvironmentSchema = z
  .object({
    type: z.literal('module'),
    /** Path of a JS or TS module, relative to the config file. */
    module: z.string().min(1),
    /** Name of the export holding the environment (default: `environment`, then `default`). */
    export: z.string().min(1).optional(),
  })
  .strict();

export const EnvironmentConfigSchema = z.discriminatedUnion('type', [
  SupportEnvironmentSchema,
  SupportDeskEnvironmentSchema,
  BanditEnvironmentSchema,
  ModuleEnvironmentSchema,
]);

const weight = z.number().finite().default(1);
export const RewardConfigSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('goal-completion'),
      weight,
      options: GoalCompletionRewardOptionsSchema.optional(),
    })
    .strict(),
  z
    .object({ type: z.literal('format'), weight, options: FormatRewardOptionsSchema.optional() })
    .strict(),
  z.object({ type: z.literal('keyword'), weight, options: KeywordRewardOptionsSchema }).strict(),
  z.object({ type: z.literal('regex'), weight, options: RegexRewardOptionsSchema }).strict(),
  z.object({ type: z.literal('length'), weight, options: LengthRewardOptionsSchema }).strict(),
  z
    .object({
      type: z.literal('human-feedback'),
      weight,
      /**
       * A person's score in [0, 1] from the console's feedback page, which
       * shows the G replies of each group side by side (needs `--console`).
       * A reply not rated within this many seconds scores null and is not
       * trained on; 10 minutes leaves a person time to read a group, and the
       * step waits that long at most.
       */
      timeoutSeconds: z.number().positive().max(86_400).default(600),
    })
    .strict(),
  z
    .object({
      type: z.literal('module'),
      weight,
      /** Path of a module exporting a RewardFunction, relative to the config file. */
      module: z.string().min(1),
      export: z.string().min(1).optional(),
    })
    .strict(),
]);

/**
 * The hybrid engine: which runtimes sample the rollouts and score the frozen
 * reference. Learning stays on tfjs; with ONNX sampling the trainer's `behaviorLogProbs: 'recompute'`
 * (the default run's) keeps the ratio free of the engines' rounding.
 */
export const EngineConfigSchema = z
  .object({
    sampler: z
      .enum(['onnx', 'tfjs'])
      .optional()
      .describe(
        "Runtime that samples a tfjs-lm policy: 'onnx' (onnxruntime-node, the weights exported after each update; the default for tfjs-lm) or 'tfjs' (the tfjs KV-cache loop). A proxy policy always samples with its own ONNX loop, so 'onnx' there only warns.",
      ),
    reference: z
      .enum(['onnx', 'tfjs'])
      .optional()
      .describe(
        "Runtime that scores the frozen KL reference of a tfjs-lm policy: 'onnx' (exported once to onnxruntime-node; a LoRA model's base with adapters off; the default for tfjs-lm) or 'tfjs'. A proxy policy's reference is its ONNX base already, so 'onnx' there only warns.",
      ),
    learner: z
      .enum(['tfjs', 'onnx'])
      .optional()
      .describe(
        "Runtime that computes the policy gradients: 'tfjs' (autodiff) or 'onnx' (the GPT-2 or Llama-family model's hand-written backward graph on onnxruntime-node, fed to the same tfjs optimizer; one SFT step of the tool agent's shape ran 12.1x faster, bench/onnx-llama-learner.ts). 'onnx' applies to a tfjs-lm policy (GPT-2, or Llama family with or without LoRA) with a built-in objective whose loss aggregation shards add up; otherwise the run warns and learns on tfjs. With learnerWorkers N (> 1) it runs on a pool of N worker threads of one ONNX Runtime thread each, which split each minibatch's sequences (bench/onnx-learner-pool.ts); it replaces learnerShards. Default: 'onnx' for a tfjs-lm policy, GPT-2 or Llama family (the default run's model: 1.28 s per step against 2.03 s on tfjs, bench/grpo-step-engines.ts --sides learner; a 0.5M Llama tool agent at context 2048: 15-29 s against 49 s for 6 steps, peak 966-1053 against 1902-1927 MB), that sets neither learnerWorkers, learnerShards nor a population; else 'tfjs'.",
      ),
    learnerWorkers: z
      .number()
      .int()
      .min(0)
      .max(256)
      .default(0)
      .describe(
        "Worker threads that compute the policy gradient of each minibatch, each on its own tfjs WASM replica, or with learner 'onnx' on its own one-thread ONNX Runtime session (0: in the main thread; with learner 'onnx', 1 too). Applies to a tfjs-lm policy (GPT-2, or Llama-family where with LoRA only adapter weights and gradients cross threads) with a built-in objective whose loss aggregation shards add up to; otherwise the run warns and learns in the main thread.",
      ),
    learnerShards: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .optional()
      .describe(
        "Contiguous shards each minibatch is split into in the main thread, their gradients computed one after another and summed: the same update (bit-identical to that many learnerWorkers) with only one shard of activations in memory, to bound the peak (1: one pass). Default: 4 for a tfjs-lm policy that learns on tfjs in the main thread (learner 'tfjs', no learnerWorkers, no population), which cuts the default 100-step run's peak RSS from 560 to 410 MB at 0.95-1.09x the wall time (bench/start-modes.ts); else 1. Same conditions as learnerWorkers; cannot be combined with learnerWorkers, which already split the minibatch.",
      ),
  })
  .strict()
  .superRefine((engine, context) => {
    if (engine.learner === 'onnx' && (engine.learnerShards ?? 1) > 1) {
      context.addIssue({
        code: 'custom',
        path: ['learner'],
        message: `learner 'onnx' runs each minibatch one sequence at a time already: leave out learnerShards (${engine.learnerShards}); learnerWorkers splits it over worker threads`,
      });
    }
    if (
      engine.learnerShards !== undefined &&
      engine.learnerShards > 1 &&
      engine.learnerWorkers > 0
    ) {
      context.addIssue({
        code: 'custom',
        path: ['learnerShards'],
        message: `learnerShards ${engine.learnerShards} splits the minibatch in the main thread, but learnerWorkers ${engine.learnerWorkers} already splits it across workers: set one of them`,
      });
    }
  });

/** Prompt evolution's starting population (its schedule is `trainer.evolution`). */
export const PromptEvolutionConfigSchema = z
  .object({
    /** System prompts that seed the population; mutated and recombined as it evolves. */
    prompts: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

/**
 * The `agent-trainer train` config file: a trainer config (merged over a
 * preset) plus the choice of policy, environment, rewards, system prompt and
 * prompt evolution. Unknown keys are refused at every level.
 */
export const AppConfigSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must be letters, digits, - and _')
      .default('support')
      .describe("the run's name, used in its directory's name"),
    preset: z
      .enum(presetNames)
      .default(defaultPresetName)
      .describe(
        `trainer settings the \`trainer\` section is merged over: ${presetNames.join(', ')}`,
      ),
    trainer: GrpoTrainingOptionsSchema.describe(
      "`@cohort/trainer`'s `GrpoTrainingOptions`, merged over the default run's settings and the preset",
    ),
    policy: PolicyConfigSchema.default({ type: 'tfjs-lm' }).describe(
      'the trained policy: `tfjs-lm`, `proxy` or `candidate-selector` (below)',
    ),
    engine: EngineConfigSchema.default({ learnerWorkers: 0 }).describe(
      'the hybrid engine: `{ sampler, reference, learner, learnerWorkers, learnerShards }` (below)',
    ),
    environment: EnvironmentConfigSchema.default({
      type: 'support',
      turnReward: 'none',
      includeContext: true,
    }).describe(
      'the environment: `support` (conversations), `support-desk` (tools on a simulated store, success checked on its database), `bandit` or `module`',
    ),
    rewards: z
      .array(RewardConfigSchema)
      .default([
        { type: 'goal-completion', weight: 1 },
        { type: 'format', weight: 0.2 },
      ])
      .describe(
        "weighted reward functions added to the environment's own reward: goal-completion, format, keyword, regex, length, module, human-feedback (a person on the console, with train --console); empty by default for `support-desk`, which scores its episodes on its database",
      ),
    systemPrompt: z.string().min(1).optional().describe("the agent's system prompt"),
    evolution: PromptEvolutionConfigSchema.optional().describe(
      "prompt evolution's starting population `{ prompts }` (its schedule is `trainer.evolution`)",
    ),
    population: PopulationConfigSchema.optional().describe(
      'train a population of members on the one base (LoRA adapters, hyperparameters and system prompts), with PBT, ERL and prompt evolution every `everyEpisodes` (below); `trainer.steps` counts the steps of all members together, and the run deploys the fittest member',
    ),
    backend: z
      .enum(['auto', 'node', 'wasm', 'cpu'])
      .default('auto')
      .describe('TensorFlow.js backend: tfjs-node when it loads, else WASM, else pure JS'),
    /**
     * 60 s is far above any scripted check and short enough that a promise
     * that never settles is found at once.
     */
    callTimeoutSeconds: z
      .number()
      .positive()
      .max(86_400)
      .default(60)
      .describe(
        "every call into a user's module (environment reset and step, reward score) must settle within this many seconds, else the run fails naming the module and the function",
      ),
  })
  .strict();

export type AppConfig = z.output<typeof AppConfigSchema>;
export type AppConfigInput = z.input<typeof AppConfigSchema>;
export type PolicyConfig = z.output<typeof PolicyConfigSchema>;
export type EnvironmentConfig = z.output<typeof EnvironmentConfigSchema>;
export type SupportDeskUserConfig = z.output<typeof SupportDeskUserSchema>;
export type RewardConfig = z.output<typeof RewardConfigSchema>;
export type EngineConfig = z.output<typeof EngineConfigSchema>;
export type { PopulationConfig } from './population-config';

/** Command-line overrides applied over a config file. */
export interface AppConfigOverrides {
  preset?: PresetName;
  steps?: number;
  /** A module path given with `--environment` (relative to the working directory). */
  environmentModule?: string;
  /**
   * A model folder given with `--model`: the folder the policy starts from
   * (`tfjs-lm`'s `modelDirectory`, the default policy type; `proxy`'s
   * `baseModelDirectory`; `candidate-selector`'s `modelDirectory`).
   */
  model?: string;
}

/**
 * The run settings every config starts from, under the preset and under the
 * file's `trainer` section: the default run of `agent-trainer train` (the
 * embedded model, GRPO on the support scenarios for a few minutes, KL to the
 * reference, checkpoints, prompt evolution on). A config file changes only
 * what it names.
 */
export const defaultRunTrainerInput = {
  steps: 100,
  scenariosPerStep: 2,
  groupSize: 4,
  minibatchSize: 8,
  generation: { maxNewTokens: 40, temperature: 1 },
  maxSequenceLength: 256,
  // The default sampler is ONNX Runtime: the learner's own log-probs enter the ratio, not the sampler's.
  behaviorLogProbs: 'recompute',
  evaluation: { everySteps: 25, maxScenarios: 12, episodesPerScenario: 1 },
  checkpoint: { everySteps: 10, keep: 2 },
  evolution: { everyEpisodes: 80, populationSize: 4, fitnessScenarios: 4 },
} satisfies Record<string, unknown>;

/** The input of `agent-trainer train` with no arguments: the default preset and run settings. */
export const defaultAppConfigInput = {
  name: 'support',
  preset: defaultPresetName,
  trainer: defaultRunTrainerInput,
} satisfies Record<string, unknown>;

/** An empty `rewards` list is refused where the environment pays no reward of its own. */
function rewardlessIssues(config: AppConfig): ValidationIssue[] {
  const { environment } = config;
  if (config.rewards.length > 0) return [];
  if (environment.type === 'support' && environment.turnReward === 'none') {
    return [
      {
        path: 'rewards',
        message:
          'is empty, and the support environment with turnReward "none" pays no reward of its own: nothing would be learned',
      },
    ];
  }
  return [];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The config's policy section with `--model` in the field its type reads the model folder from. */
function withModel(policy: unknown, model: string): Record<string, unknown> {
  const section = isPlainObject(policy) ? policy : { type: 'tfjs-lm' };
  const field = section.type === 'proxy' ? 'baseModelDirectory' : 'modelDirectory';
  return { type: 'tfjs-lm', ...section, [field]: path.resolve(model) };
}

/**
 * Validates an app config: the trainer section is merged over the default
 * run settings ({@link defaultRunTrainerInput}), which are merged over the
 * preset (`overrides.preset`, else the file's `preset`, else
 * {@link defaultPresetName}), then every field is checked, every key is
 * checked to be known (also inside other packages' schemas), and the sizes
 * are bounded ({@link configBoundIssues}). Throws {@link ValidationError}
 * listing each bad field's path, and for an unknown key or a wrong choice,
 * the allowed values.
 *
 * @example
 * ```ts
 * const config = resolveAppConfig({ trainer: { steps: 5 } }, { preset: 'conservative' });
 * config.trainer.optimizer.learningRate; // 2e-5, from the preset
 * ```
 */
export function resolveAppConfig(input: unknown, overrides: AppConfigOverrides = {}): AppConfig {
  const raw: Record<string, unknown> = isPlainObject(input) ? { ...input } : {};
  if (input !== undefined && input !== null && !isPlainObject(input)) {
    throw new ValidationError({
      what: 'config',
      issues: [{ path: '', message: 'must be an object (a mapping of keys to values)' }],
    });
  }
  // Read before the merge: a population turns the single learner's prompt evolution off unless the file asks for it.
  const fileEvolution =
    isPlainObject(raw.trainer) && isPlainObject(raw.trainer.evolution)
      ? raw.trainer.evolution.everyEpisodes
      : undefined;
  const withPopulation = isPlainObject(raw.population);
  const presetValue = overrides.preset ?? raw.preset;
  if (overrides.preset) raw.preset = overrides.preset;
  const preset =
    presetValue === undefined
      ? defaultPresetName
      : typeof presetValue === 'string' && (presetNames as readonly string[]).includes(presetValue)
        ? (presetValue as PresetName)
        : undefined;
  // An explicit null (a YAML `trainer:` with nothing under it) is refused by the schema, not read as {}.
  let trainer: unknown = raw.trainer === undefined ? {} : raw.trainer;
  if (preset !== undefined && isPlainObject(trainer))
    trainer = mergeConfig(mergeConfig(trainerPresets[preset], defaultRunTrainerInput), trainer);
  if (overrides.steps !== undefined && isPlainObject(trainer))
    trainer = { ...trainer, steps: overrides.steps };
  if (withPopulation && fileEvolution === undefined && isPlainObject(trainer))
    trainer = mergeConfig(trainer, { evolution: { everyEpisodes: 0 } });
  raw.trainer = trainer;
  if (overrides.environmentModule !== undefined) {
    raw.environment = { type: 'module', module: path.resolve(overrides.environmentModule) };
  }
  // The support desk scores its own episodes from the final database; text rewards would fight it.
  if (
    raw.rewards === undefined &&
    isPlainObject(raw.environment) &&
    raw.environment.type === 'support-desk'
  ) {
    raw.rewards = [];
  }
  if (overrides.model !== undefined) raw.policy = withModel(raw.policy, overrides.model);
  const result = AppConfigSchema.safeParse(raw);
  if (result.success) {
    const issues = [
      ...unknownKeyIssues(AppConfigSchema, raw),
      ...configBoundIssues(result.data),
      ...rewardlessIssues(result.data),
      ...(result.data.population
        ? populationIssues({
            population: result.data.population,
            hasSystemPrompt:
              result.data.systemPrompt !== undefined || result.data.environment.type === 'support',
            fileEvolutionEpisodes: fileEvolution,
            fileEvolutionPrompts: (result.data.evolution?.prompts?.length ?? 0) > 0,
          })
        : []),
      ...(result.data.population && result.data.policy.type === 'candidate-selector'
        ? [
            {
              path: 'population',
              message:
                'evolves the weights, hyperparameters and prompts of a language-model policy trained with GRPO; policy candidate-selector has none of them: leave population out',
            },
          ]
        : []),
    ];
    if (issues.length === 0) return result.data;
    throw new ValidationError({ what: 'config', issues });
  }
  const issues: ValidationIssue[] = zodIssuesWithAllowedValues(
    AppConfigSchema,
    raw,
    result.error.issues,
  );
  throw new ValidationError({ what: 'config', issues, cause: result.error });
}
