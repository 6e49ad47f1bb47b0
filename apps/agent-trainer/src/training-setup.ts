import path from 'node:path';
import type {
  Environment,
  ReferenceModel,
  RewardContext,
  RewardFunction,
  Scenario,
  Trajectory,
} from '@cohort/core';
import {
  ConversationEnvironment,
  createBanditEnvironment,
  createSupportDeskEnvironment,
  defaultSupportSystemPrompt,
  formatReward,
  goalCompletionReward,
  humanFeedbackReward,
  inventedOrderIds,
  keywordReward,
  lengthReward,
  regexReward,
  type SupportDeskTask,
  supportDeskTasks,
  supportScenarios,
} from '@cohort/environments';
import {
  initializeBackend,
  LlamaPolicy,
  LlamaReferenceModel,
  type LoraOptionsInput,
  llamaModelTypes,
} from '@cohort/tfjs';
import { loadGptPolicy, loadLlamaModel } from '@cohort/tfjs/node';
import {
  GrpoTrainer,
  type RolloutSource,
  type TrainablePolicy,
  type TrainerEvent,
  type TransportRolloutsOptionsInput,
  type WeightedReward,
} from '@cohort/trainer';
// Values of @cohort/transformers are imported where a run needs them: its index loads
// transformers.js (about 30 MB resident), which a tfjs model trained on ONNX Runtime never uses.
import type { ProxyTunedPolicy } from '@cohort/transformers';
import {
  type AppConfig,
  defaultModelDirectory,
  type EnvironmentConfig,
  type RewardConfig,
} from './app-config';
import { assertModelDirectory, readModelType } from './chat-model';
import {
  createConfiguredLearner,
  withConfiguredReference,
  withConfiguredSampler,
} from './engine-setup';
import { UsageError } from './exit-codes';
import { OnnxPolicyLearner } from './onnx-policy-learner';
import { createSupportDeskUserSetup, type SupportDeskUserSetup } from './support-desk-user-setup';
import { loadEnvironmentModule, loadRewardModule, type UserModuleOptions } from './user-module';

/** The environment side of a run: the environment, its scenarios, and rewards it brings. */
export interface EnvironmentSetup {
  environment: Environment<Scenario>;
  trainScenarios: Scenario[];
  evalScenarios: Scenario[];
  /** Rewards exported by a user's module, added to the config's. */
  moduleRewards: RewardFunction<Scenario>[];
  /** The stratum of a held-out scenario in evaluations (default: its `category`). */
  categoryOf?: (scenario: Scenario) => string;
  /** Figures counted on each held-out episode and summed in the evaluation's `counts`. */
  episodeCounts?: (trajectory: Trajectory, scenario: Scenario) => Record<string, number>;
  /** The support desk's customer: which one, and the LLM customer's counts. */
  customer?: SupportDeskUserSetup;
}

/**
 * Builds the environment and its scenarios from the config: the built-in
 * support conversations (train and held-out splits), the support desk tool
 * environment (generated train and held-out tasks, evaluated by task kind,
 * with the invented order ids of every held-out episode counted), the bandit,
 * or a user's module.
 */
export async function createEnvironmentSetup(
  config: EnvironmentConfig,
  systemPrompt?: string,
  moduleOptions: UserModuleOptions = {},
): Promise<EnvironmentSetup> {
  switch (config.type) {
    case 'support': {
      const categories = config.categories ? { categories: config.categories } : {};
      return {
        environment: new ConversationEnvironment({
          turnReward: config.turnReward,
          includeContext: config.includeContext,
          ...(systemPrompt ? { systemPrompt } : {}),
        }),
        trainScenarios: supportScenarios({ split: 'train', ...categories }),
        evalScenarios: supportScenarios({ split: 'eval', ...categories }),
        moduleRewards: [],
      };
    }
    case 'support-desk': {
      const customer = await createSupportDeskUserSetup(config.user);
      const environment = createSupportDeskEnvironment({
        format: config.format,
        toolPrompt: config.toolPrompt,
        maxAgentTurns: config.maxAgentTurns,
        patience: config.patience,
        rewards: config.rewards,
        ...(customer.user ? { user: customer.user } : {}),
      });
      const asTask = (scenario: Scenario) => scenario as unknown as SupportDeskTask;
      return {
        environment: environment as unknown as Environment<Scenario>,
        trainScenarios: supportDeskTasks({
          split: 'train',
          count: config.trainTasks,
        }) as unknown as Scenario[],
        evalScenarios: supportDeskTasks({
          split: 'eval',
          count: config.evalTasks,
        }) as unknown as Scenario[],
        moduleRewards: [],
        categoryOf: (scenario) => asTask(scenario).kind,
        episodeCounts: (trajectory, scenario) => ({
          inventedOrderIds: inventedOrderIds(asTask(scenario), trajectory.messages).length,
        }),
        customer,
      };
    }
    case 'bandit': {
      const environment = createBanditEnvironment({
        bandit: {
          armMeans: config.armMeans,
          noise: config.noise,
          ...(config.drift ? { drift: config.drift } : {}),
        },
      });
      const task = { id: 'bandit' } as unknown as Scenario;
      return {
        environment: environment as unknown as Environment<Scenario>,
        trainScenarios: [task],
        evalScenarios: [task],
        moduleRewards: [],
      };
    }
    case 'module': {
      const loaded = await loadEnvironmentModule(config.module, config.export, moduleOptions);
      return {
        environment: loaded.environment as Environment<Scenario>,
        trainScenarios: loaded.scenarios as Scenario[],
        evalScenarios: loaded.evaluationScenarios as Scenario[],
        moduleRewards: loaded.rewards as RewardFunction<Scenario>[],
      };
    }
  }
}

/** Builds the weighted reward functions of the config (module rewards are imported). */
/**
 * Where a `human-feedback` reward sends its questions: bound after the run
 * directory exists (the console's feedback broker lives there), so the trainer
 * can be built, and its config checked, before anything is written.
 */
export interface HumanFeedbackLink {
  ask?: (
    context: RewardContext<unknown>,
    options: { signal: AbortSignal },
  ) => Promise<number | null>;
}

/** The reward name a `human-feedback` config gets (and that evaluation leaves out). */
export const humanFeedbackRewardName = 'human-feedback';

export async function createRewards(
  configs: readonly RewardConfig[],
  moduleOptions: UserModuleOptions = {},
  humanFeedback: HumanFeedbackLink = {},
): Promise<WeightedReward<Scenario>[]> {
  const rewards: WeightedReward<Scenario>[] = [];
  for (const config of configs) {
    let reward: RewardFunction<Scenario>;
    switch (config.type) {
      case 'goal-completion':
        reward = goalCompletionReward(config.options ?? {});
        break;
      case 'format':
        reward = formatReward(config.options ?? {}) as RewardFunction<Scenario>;
        break;
      case 'keyword':
        reward = keywordReward(config.options) as RewardFunction<Scenario>;
        break;
      case 'regex':
        reward = regexReward(config.options) as RewardFunction<Scenario>;
        break;
      case 'length':
        reward = lengthReward(config.options) as RewardFunction<Scenario>;
        break;
      case 'human-feedback':
        reward = humanFeedbackReward({
          name: humanFeedbackRewardName,
          range: [0, 1],
          timeoutMs: config.timeoutSeconds * 1000,
          ask: (context, options) => {
            if (!humanFeedback.ask) {
              throw new UsageError(
                'reward "human-feedback" asks a person through the console: run "train" with --console',
              );
            }
            return humanFeedback.ask(context, options);
          },
        }) as RewardFunction<Scenario>;
        break;
      case 'module':
        reward = (await loadRewardModule(
          config.module,
          config.export,
          moduleOptions,
        )) as RewardFunction<Scenario>;
        break;
    }
    rewards.push({ reward, weight: config.weight });
  }
  return rewards;
}

/**
 * A trainable tfjs LM read from a Hugging Face folder: GPT-2 with a frozen
 * copy as its reference, or a Llama-family model (by `model_type`), with
 * LoRA adapters whose reference is the base with adapters off, or fully
 * trained against a frozen copy.
 */
async function createTfjsPolicy(
  directory: string,
  lora: LoraOptionsInput | undefined,
): Promise<{ policy: TrainablePolicy; referenceModel: ReferenceModel }> {
  await assertModelDirectory(directory);
  const modelType = await readModelType(directory);
  if (!(llamaModelTypes as readonly string[]).includes(modelType ?? '')) {
    if (lora !== undefined) {
      throw new UsageError(
        `policy.lora needs a Llama-family model (${llamaModelTypes.join(', ')}); ${directory} has model_type ${JSON.stringify(modelType)}`,
      );
    }
    return loadGptPolicy(directory);
  }
  const { loadTransformersTokenizer, ModelFilesError } = await import('@cohort/transformers');
  let tokenizer: Awaited<ReturnType<typeof loadTransformersTokenizer>>;
  try {
    tokenizer = await loadTransformersTokenizer(directory);
  } catch (error) {
    if (ModelFilesError.isInstance(error)) throw new UsageError(error.message);
    throw error;
  }
  const model = await loadLlamaModel(directory, lora === undefined ? {} : { lora });
  const reference = lora === undefined ? await loadLlamaModel(directory) : model;
  return {
    policy: new LlamaPolicy({ model, tokenizer }),
    referenceModel: new LlamaReferenceModel({ model: reference, padTokenId: tokenizer.padTokenId }),
  };
}

/**
 * A frozen transformers.js model plus a trainable tfjs delta; the base itself
 * is the reference. The console and `chat` build a proxy run's policy with it
 * too, so they talk to the policy the run trained.
 */
export async function createProxyPolicy(
  directory: string,
  delta: { layerCount: number; embeddingSize: number; headCount: number },
  seed: number,
): Promise<{ policy: ProxyTunedPolicy; referenceModel: ReferenceModel }> {
  const { createProxyTunedPolicy, loadCausalLm, ModelFilesError, ProxyReferenceModel } =
    await import('@cohort/transformers');
  let loaded: Awaited<ReturnType<typeof loadCausalLm>>;
  try {
    loaded = await loadCausalLm({ model: path.resolve(directory) });
  } catch (error) {
    if (ModelFilesError.isInstance(error)) throw new UsageError(error.message);
    throw error;
  }
  const policy = await createProxyTunedPolicy({
    base: loaded.model,
    tokenizer: loaded.tokenizer,
    delta,
    seed: Math.abs(seed),
  });
  return { policy, referenceModel: new ProxyReferenceModel({ policy }) };
}

/** Options of {@link createTrainer}. */
export interface CreateTrainerOptions {
  config: AppConfig;
  onEvent?: (event: TrainerEvent) => void;
  /**
   * Receives informational lines, such as which TensorFlow.js backend was
   * chosen and why. Default: none, so that stderr carries only errors and
   * warnings; the CLI passes one with `--verbose`.
   */
  log?: (line: string) => void;
  /** Receives the environment, rewards and held-out scenarios the trainer was built with (for evaluation). */
  onParts?: (parts: TrainerParts) => void;
  /** Where a `human-feedback` reward asks (bound by `train --console` once the run directory exists). */
  humanFeedback?: HumanFeedbackLink;
  /** Rollouts on workers over a transport (`train --workers N` / `--nats URL`); default: in this process. */
  rollouts?: TransportRolloutsOptionsInput;
  /**
   * Training rollouts from outside the trainer (`agent-trainer gateway`): made
   * from the policy that samples (the ONNX-sampled wrapper when the config
   * asks for it), once the policy is built. Held-out evaluation still runs the
   * config's environment in process.
   */
  rolloutSource?: (samplingPolicy: TrainablePolicy) => Promise<RolloutSource<Scenario>>;
}

/** What a trainer was built from, for an evaluation on the same scale. */
export interface TrainerParts {
  environment: Environment<Scenario>;
  rewards: WeightedReward<Scenario>[];
  trainScenarios: Scenario[];
  evalScenarios: Scenario[];
  categoryOf?: (scenario: Scenario) => string;
  episodeCounts?: (trajectory: Trajectory, scenario: Scenario) => Record<string, number>;
  customer?: SupportDeskUserSetup;
}

/**
 * Builds the {@link GrpoTrainer} of a run from the app config: the backend,
 * the policy and its frozen reference, the optimizer, the environment, and
 * the rewards. `tfjs-lm` fine-tunes a tfjs GPT against a frozen copy;
 * `proxy` trains a small tfjs delta over a frozen transformers.js model, which
 * is its own exact reference. `candidate-selector` has its own trainer
 * (`createCandidateSelector`) and is refused here with a message that says so.
 */
export async function createTrainer(options: CreateTrainerOptions): Promise<GrpoTrainer<Scenario>> {
  const { config } = options;
  const moduleOptions = { timeoutSeconds: config.callTimeoutSeconds };
  const setup = await createEnvironmentSetup(
    config.environment,
    config.systemPrompt,
    moduleOptions,
  );
  const rewards = [
    ...(await createRewards(config.rewards, moduleOptions, options.humanFeedback)),
    ...setup.moduleRewards.map((reward) => ({ reward, weight: 1 })),
  ];
  if (config.policy.type === 'candidate-selector') {
    throw new UsageError(
      'policy type "candidate-selector" has its own trainer (createCandidateSelector in candidate-selector-setup.ts, which "agent-trainer train" uses), not a GrpoTrainer',
    );
  }
  await initializeBackend({ backend: config.backend, logger: options.log ?? false });
  const { policy, referenceModel } =
    config.policy.type === 'proxy'
      ? await createProxyPolicy(
          config.policy.baseModelDirectory,
          config.policy.delta,
          config.trainer.seed,
        )
      : await createTfjsPolicy(
          config.policy.modelDirectory ?? defaultModelDirectory,
          config.policy.lora,
        );
  // Prompt evolution needs a starting prompt: the support environment's own when none is configured.
  const systemPrompt =
    config.systemPrompt ??
    (config.environment.type === 'support' ? defaultSupportSystemPrompt : undefined);
  options.onParts?.({
    environment: setup.environment,
    rewards,
    trainScenarios: setup.trainScenarios,
    evalScenarios: setup.evalScenarios,
    ...(setup.categoryOf ? { categoryOf: setup.categoryOf } : {}),
    ...(setup.episodeCounts ? { episodeCounts: setup.episodeCounts } : {}),
    ...(setup.customer ? { customer: setup.customer } : {}),
  });
  const dataParallel = await createConfiguredLearner(policy, config);
  if (config.engine.learner === 'onnx' && !(dataParallel?.learner instanceof OnnxPolicyLearner)) {
    options.log?.(
      "engine.learner 'onnx': this policy is not a tfjs-lm (GPT-2 or Llama family), so it learns on tfjs",
    );
  }
  if (config.engine.learnerWorkers > 0 && dataParallel === undefined) {
    options.log?.(
      `engine.learnerWorkers ${config.engine.learnerWorkers}: this policy is not a tfjs-lm, so it learns in the main thread`,
    );
  }
  if ((config.engine.learnerShards ?? 1) > 1 && dataParallel === undefined) {
    options.log?.(
      `engine.learnerShards ${config.engine.learnerShards}: this policy is not a tfjs-lm, so it learns each minibatch in one pass`,
    );
  }
  const samplingPolicy = await withConfiguredSampler(policy, config);
  const rolloutSource = options.rolloutSource
    ? await options.rolloutSource(samplingPolicy)
    : undefined;
  return new GrpoTrainer<Scenario>({
    policy: samplingPolicy,
    ...(dataParallel ? { dataParallel } : {}),
    referenceModel: await withConfiguredReference(referenceModel, policy, config),
    environment: setup.environment,
    trainScenarios: setup.trainScenarios,
    evalScenarios: setup.evalScenarios,
    rewards,
    config: config.trainer,
    ...(systemPrompt ? { systemPrompt } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.rollouts ? { rollouts: options.rollouts } : {}),
    ...(rolloutSource ? { rolloutSource } : {}),
  });
}
