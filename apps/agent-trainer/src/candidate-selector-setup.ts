import type { Environment, Scenario } from '@cohort/core';
import { initializeBackend } from '@cohort/tfjs';
import {
  type CandidateGenerator,
  type CandidateQuery,
  type CandidateRewardSource,
  type CandidateSelectorEvent,
  CandidateSelectorTrainer,
  candidateRewardFromRewards,
  createCandidateUpdateRule,
  createHashingFeaturizer,
  MlpCandidateActor,
  MlpRewardCritic,
  type RewardFailure,
  type RunnableCandidateSelector,
} from '@cohort/trainer';
import { type AppConfig, defaultModelDirectory } from './app-config';
import { type ChatModel, loadChatModel } from './chat-model';
import { replyTo } from './chat-reply';
import { configDifferences } from './dry-run';
import { UsageError } from './exit-codes';
import { createEnvironmentSetup, createRewards, humanFeedbackRewardName } from './training-setup';

/** The candidate-selector policy section of an app config. */
export type CandidateSelectorPolicyConfig = Extract<
  AppConfig['policy'],
  { type: 'candidate-selector' }
>;

/**
 * Where a `human-feedback` reward of the candidate selector asks: bound once
 * the run directory (and the console's feedback broker in it) exists, so the
 * selector can be built, and its config checked, before anything is written.
 */
export interface CandidateFeedbackLink {
  reward?: CandidateRewardSource;
}

/** What {@link createCandidateSelector} built. */
export interface CandidateSelectorSetup {
  trainer: RunnableCandidateSelector;
  trainQueries: CandidateQuery[];
  evalQueries: CandidateQuery[];
  /** The function part of the reward, for held-out evaluation; undefined when only a person rewards. */
  evaluationReward?: CandidateRewardSource;
  /** Seconds a person has to answer a question before its choices score null; undefined without human feedback. */
  humanFeedbackTimeoutSeconds?: number;
  /** Settings of the config that the candidate selector does not use. */
  warnings: string[];
  generatorModel: ChatModel;
  dispose(): void;
}

/** Trainer settings a candidate-selector run reads; any other that differs from the preset warns. */
const applicableTrainerSettings = [
  'trainer.steps',
  'trainer.seed',
  'trainer.generation.maxNewTokens',
  'trainer.generation.temperature',
  'trainer.evaluation.everySteps',
  'trainer.evaluation.maxScenarios',
  'trainer.evaluation.seed',
  'trainer.checkpoint.everySteps',
  'trainer.checkpoint.keep',
];

/** The config's settings that a candidate-selector run would not use, one warning each. */
export function candidateSelectorWarnings(config: AppConfig): string[] {
  const unused = configDifferences(config)
    .map((line) => line.slice(0, line.indexOf(':')))
    .filter(
      (key) =>
        (key.startsWith('trainer.') || key.startsWith('engine.')) &&
        !applicableTrainerSettings.includes(key) &&
        // Turning prompt evolution off, which the selector never runs, changes nothing to warn about.
        !(
          key === 'trainer.evolution.everyEpisodes' && config.trainer.evolution.everyEpisodes === 0
        ),
    );
  const warnings = unused.map(
    (key) => `${key} does not apply to the candidate-selector policy (it trains a small actor)`,
  );
  if (config.evolution !== undefined) {
    warnings.push('evolution.prompts does not apply to the candidate-selector policy');
  }
  if (config.environment.type === 'support-desk' && config.environment.user.type === 'llm') {
    warnings.push(
      'environment.user does not apply to the candidate-selector policy (it answers only the opening message, so no customer speaks after it)',
    );
  }
  return warnings;
}

/**
 * The opening of each scenario's episode as a query: the system prompt and
 * the first user message, with the scenario (for the rewards that check its goals).
 */
async function queriesOf(options: {
  environment: Environment<Scenario>;
  scenarios: readonly Scenario[];
  seed: number;
  systemPrompt: string | undefined;
  environmentType: string;
}): Promise<CandidateQuery[]> {
  const queries: CandidateQuery[] = [];
  for (const scenario of options.scenarios) {
    const episode = await options.environment.reset({
      scenario,
      seed: options.seed,
      ...(options.systemPrompt ? { systemPrompt: options.systemPrompt } : {}),
    });
    const system = episode.messages.find((message) => message.role === 'system');
    const user = episode.messages.find((message) => message.role === 'user');
    if (!user) {
      throw new UsageError(
        `policy "candidate-selector" answers the user's opening message, and the ${options.environmentType} environment's episodes open with none: use the support, support-desk or a module environment whose reset gives a user message`,
      );
    }
    queries.push({ prompt: system?.content ?? '', query: user.content, scenario });
  }
  return queries;
}

/**
 * A frozen chat model as the candidate source: K replies to the query, each
 * sampled with the chat template, the run's `maxNewTokens` and temperature,
 * and seed `seed + k`, so a query's candidates are the same for the same seed.
 */
export function chatModelCandidates(options: {
  model: ChatModel;
  maxNewTokens: number;
  temperature: number;
}): CandidateGenerator {
  return {
    async propose({ prompt, query, count, seed }) {
      const candidates: string[] = [];
      for (let index = 0; index < count; index++) {
        const messages = [
          ...(prompt === '' ? [] : [{ role: 'system' as const, content: prompt }]),
          { role: 'user' as const, content: query },
        ];
        candidates.push(
          await replyTo({
            model: options.model,
            messages,
            maxNewTokens: options.maxNewTokens,
            temperature: options.temperature,
            seed: seed + index,
          }),
        );
      }
      return candidates;
    },
  };
}

/**
 * Builds the candidate selector of a `candidate-selector` run from the app
 * config: the environment's training and held-out scenarios as queries, the
 * frozen proposing model, hashed features, the MLP actor and critic, the
 * clipped update rule, and the reward: the config's reward functions scored
 * by the trainer's reward-scoring stage, plus, with `human-feedback`, a
 * person's pick of the best candidate on the console (bound through `link`),
 * weighted and summed. A choice the person skips (or leaves past
 * `timeoutSeconds`) scores null and is not trained on, even when functions
 * scored it too: its group would otherwise mix two reward scales.
 */
export async function createCandidateSelector(options: {
  config: AppConfig;
  link: CandidateFeedbackLink;
  onRewardFailure?: (failure: RewardFailure) => void;
  /** The trainer's decisions, rewards, skips and updates as they happen. */
  onSelectorEvent?: (event: CandidateSelectorEvent) => void;
  log?: (line: string) => void;
}): Promise<CandidateSelectorSetup> {
  const { config } = options;
  const policy = config.policy as CandidateSelectorPolicyConfig;
  const trainer = config.trainer;
  const moduleOptions = { timeoutSeconds: config.callTimeoutSeconds };
  const setup = await createEnvironmentSetup(
    config.environment,
    config.systemPrompt,
    moduleOptions,
  );
  const humanConfig = config.rewards.find((reward) => reward.type === 'human-feedback');
  const functionRewards = [
    ...(await createRewards(
      config.rewards.filter((reward) => reward.type !== 'human-feedback'),
      moduleOptions,
    )),
    ...setup.moduleRewards.map((reward) => ({ reward, weight: 1 })),
  ];
  if (functionRewards.length === 0 && !humanConfig) {
    throw new UsageError(
      'policy "candidate-selector" learns from the config\'s rewards (the environment\'s own reward needs whole episodes), and "rewards" is empty: add a reward function or { type: human-feedback }',
    );
  }
  const functionReward =
    functionRewards.length > 0
      ? candidateRewardFromRewards({
          rewards: functionRewards,
          ...(options.onRewardFailure ? { onFailure: options.onRewardFailure } : {}),
        })
      : undefined;
  const link = options.link;
  const reward: CandidateRewardSource = async (input) => {
    const askPerson = async () => {
      if (!link.reward) {
        throw new UsageError(
          `reward "${humanFeedbackRewardName}" asks a person through the console: run "train" with --console`,
        );
      }
      return link.reward(input);
    };
    const [human, functions] = await Promise.all([
      humanConfig ? askPerson() : undefined,
      functionReward ? functionReward(input) : undefined,
    ]);
    if (human === null) return null;
    if (human === undefined) return functions ?? null;
    return humanConfig!.weight * human + (functions ?? 0);
  };

  await initializeBackend({ backend: config.backend, logger: options.log ?? false });
  const generatorModel = await loadChatModel(policy.modelDirectory ?? defaultModelDirectory);
  const systemPrompt = config.systemPrompt;
  const environmentType = config.environment.type;
  const trainQueries = await queriesOf({
    environment: setup.environment,
    scenarios: setup.trainScenarios,
    seed: trainer.seed,
    systemPrompt,
    environmentType,
  });
  const evaluationScenarios =
    trainer.evaluation.maxScenarios > 0
      ? setup.evalScenarios.slice(0, trainer.evaluation.maxScenarios)
      : setup.evalScenarios;
  const evalQueries = await queriesOf({
    environment: setup.environment,
    scenarios: evaluationScenarios,
    seed: trainer.evaluation.seed,
    systemPrompt,
    environmentType,
  });
  const dimension = policy.featureDimension;
  const actor = new MlpCandidateActor({
    featureSize: dimension,
    hiddenSizes: [policy.hiddenSize],
    seed: trainer.seed,
  });
  const critic = new MlpRewardCritic({
    featureSize: dimension,
    hiddenSizes: [policy.hiddenSize],
    seed: trainer.seed + 1,
  });
  const optimizer = { type: 'adam', learningRate: policy.learningRate, maxGradNorm: 1 } as const;
  const selector = new CandidateSelectorTrainer({
    generator: chatModelCandidates({
      model: generatorModel,
      maxNewTokens: trainer.generation.maxNewTokens,
      temperature: trainer.generation.temperature,
    }),
    featurizer: createHashingFeaturizer({ dimension }),
    actor,
    critic,
    updateRule: createCandidateUpdateRule({
      advantage: policy.advantage,
      epochs: policy.epochs,
      klCoefficient: policy.klCoefficient,
      actorOptimizer: optimizer,
      criticOptimizer: optimizer,
    }),
    reward,
    candidateCount: policy.candidates,
    samplesPerQuery: policy.samplesPerQuery,
    updateEvery: policy.updateEvery * policy.samplesPerQuery,
    seed: trainer.seed,
    ...(options.onSelectorEvent ? { onEvent: options.onSelectorEvent } : {}),
  });
  return {
    trainer: selector,
    trainQueries,
    evalQueries,
    ...(functionReward ? { evaluationReward: functionReward } : {}),
    ...(humanConfig && humanConfig.type === 'human-feedback'
      ? { humanFeedbackTimeoutSeconds: humanConfig.timeoutSeconds }
      : {}),
    warnings: candidateSelectorWarnings(config),
    generatorModel,
    dispose() {
      actor.dispose();
      critic.dispose();
      generatorModel.dispose();
    },
  };
}
