import type { ValidationIssue } from '@cohort/core';
import type { AppConfig } from './app-config';

/**
 * Upper bounds of the settings that size memory and time, so that a typo
 * (`steps: 1e9`, `groupSize: 100000`) is refused at once instead of
 * exhausting the machine hours later. Each is far above any run this app can
 * do on one machine; the reason stands next to it.
 */
export const configBounds = {
  /** One step takes at least tens of milliseconds: a million is days. */
  steps: 1_000_000,
  /** Episodes per step are held in memory with their token ids. */
  scenariosPerStep: 1024,
  groupSize: 1024,
  episodesPerStep: 16_384,
  /** Positions of a tfjs GPT: attention is quadratic in them. */
  maxSequenceLength: 32_768,
  minibatchSize: 16_384,
  epochs: 100,
  gradientAccumulationSteps: 1024,
  evaluationEpisodesPerScenario: 256,
  populationSize: 1024,
  fitnessScenarios: 10_000,
  checkpointsKept: 1000,
  topK: 1_000_000,
  rewards: 100,
  deltaLayerCount: 64,
  deltaEmbeddingSize: 8192,
  deltaHeadCount: 256,
  /** Characters of a system prompt (the whole context is at most 32k tokens). */
  promptCharacters: 100_000,
  banditArms: 100_000,
} as const;

/**
 * The issues of a config that passed its schema but cannot run: a setting
 * above {@link configBounds}, or a combination that can never produce an
 * agent turn (`maxNewTokens` that leaves no room for a prompt in
 * `maxSequenceLength`). Each names its field.
 *
 * @example
 * ```ts
 * configBoundIssues(resolveAppConfig({ trainer: { steps: 5 } })); // []
 * ```
 */
export function configBoundIssues(config: AppConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const atMost = (path: string, value: number, maximum: number, why = ''): void => {
    if (value > maximum)
      issues.push({ path, message: `must be at most ${maximum}${why}, got ${value}` });
  };
  const { trainer } = config;
  atMost('trainer.steps', trainer.steps, configBounds.steps);
  atMost('trainer.scenariosPerStep', trainer.scenariosPerStep, configBounds.scenariosPerStep);
  atMost('trainer.groupSize', trainer.groupSize, configBounds.groupSize);
  if (
    trainer.scenariosPerStep <= configBounds.scenariosPerStep &&
    trainer.groupSize <= configBounds.groupSize
  ) {
    atMost(
      'trainer.groupSize',
      trainer.scenariosPerStep * trainer.groupSize,
      configBounds.episodesPerStep,
      ' episodes per step together with trainer.scenariosPerStep (their product)',
    );
  }
  atMost('trainer.maxSequenceLength', trainer.maxSequenceLength, configBounds.maxSequenceLength);
  if (trainer.generation.maxNewTokens >= trainer.maxSequenceLength) {
    issues.push({
      path: 'trainer.generation.maxNewTokens',
      message: `must be less than trainer.maxSequenceLength (${trainer.maxSequenceLength}) to leave room for a prompt, got ${trainer.generation.maxNewTokens}`,
    });
  }
  atMost('trainer.minibatchSize', trainer.minibatchSize, configBounds.minibatchSize);
  atMost('trainer.epochs', trainer.epochs, configBounds.epochs);
  atMost(
    'trainer.gradientAccumulationSteps',
    trainer.gradientAccumulationSteps,
    configBounds.gradientAccumulationSteps,
  );
  atMost('trainer.generation.topK', trainer.generation.topK, configBounds.topK);
  atMost(
    'trainer.evaluation.episodesPerScenario',
    trainer.evaluation.episodesPerScenario,
    configBounds.evaluationEpisodesPerScenario,
  );
  atMost(
    'trainer.evolution.populationSize',
    trainer.evolution.populationSize,
    configBounds.populationSize,
  );
  atMost(
    'trainer.evolution.fitnessScenarios',
    trainer.evolution.fitnessScenarios,
    configBounds.fitnessScenarios,
  );
  atMost('trainer.checkpoint.keep', trainer.checkpoint.keep, configBounds.checkpointsKept);
  atMost('rewards', config.rewards.length, configBounds.rewards, ' reward functions');
  for (const [index, reward] of config.rewards.entries()) {
    if (reward.type !== 'regex' || typeof reward.options.pattern !== 'string') continue;
    try {
      new RegExp(reward.options.pattern, reward.options.flags ?? '');
    } catch (error) {
      issues.push({
        path: `rewards.${index}.options.pattern`,
        message: `is not a valid regular expression: ${(error as Error).message}`,
      });
    }
  }
  if (config.policy.type === 'proxy') {
    const { delta } = config.policy;
    atMost('policy.delta.layerCount', delta.layerCount, configBounds.deltaLayerCount);
    atMost('policy.delta.embeddingSize', delta.embeddingSize, configBounds.deltaEmbeddingSize);
    atMost('policy.delta.headCount', delta.headCount, configBounds.deltaHeadCount);
    if (delta.embeddingSize % delta.headCount !== 0) {
      issues.push({
        path: 'policy.delta.headCount',
        message: `must divide policy.delta.embeddingSize (${delta.embeddingSize}), got ${delta.headCount}`,
      });
    }
  }
  if (config.environment.type === 'bandit')
    atMost(
      'environment.armMeans',
      config.environment.armMeans.length,
      configBounds.banditArms,
      ' arms',
    );
  if (config.systemPrompt !== undefined)
    atMost(
      'systemPrompt',
      config.systemPrompt.length,
      configBounds.promptCharacters,
      ' characters',
    );
  for (const [index, prompt] of (config.evolution?.prompts ?? []).entries())
    atMost(
      `evolution.prompts.${index}`,
      prompt.length,
      configBounds.promptCharacters,
      ' characters',
    );
  return issues;
}
