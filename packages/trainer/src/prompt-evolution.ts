import { InvalidArgumentError, Random, type Scenario } from '@cohort/core';
import {
  createPopulation,
  HybridEvolutionSchedule,
  meanRewardFitness,
  promptGenome,
  type TextRewriter,
} from '@cohort/evolution';
import type { GrpoTrainer } from './grpo-trainer';
import type { ScenarioLike } from './reward-scoring-stage';
import type { PromptEvolution } from './training-run';

/** Options of {@link createPromptEvolution}. */
export interface CreatePromptEvolutionOptions<S extends ScenarioLike> {
  trainer: GrpoTrainer<S>;
  /** Prompts that seed the population (the trainer's current prompt is added first). */
  initialPrompts?: readonly string[];
  /** Sentences that rule-based mutations insert or swap in. */
  phrases: readonly string[];
  /** An LLM rewriter for EvoPrompt-style mutation and crossover (optional). */
  rewrite?: TextRewriter;
}

/**
 * Builds the prompt evolution of `trainer.config.evolution` (null when its
 * `everyEpisodes` is 0): a population of system prompts whose fitness is the
 * trained policy's mean reward, greedy, on a fixed subset of the training
 * scenarios with the evaluation seed, evaluated in one batched rollout per
 * prompt. The trainer's prompt is injected every E episodes and a member that
 * beats it by `adoptionMargin` is adopted.
 *
 * @example
 * ```ts
 * const evolution = await createPromptEvolution({ trainer, phrases: ['Always name the order number.'] });
 * const run = new TrainingRun({ trainer, runDirectory, steps: 60, ...(evolution ? { evolution } : {}) });
 * ```
 */
export async function createPromptEvolution<S extends ScenarioLike = Scenario>(
  options: CreatePromptEvolutionOptions<S>,
): Promise<PromptEvolution | null> {
  const { trainer } = options;
  const settings = trainer.config.evolution;
  if (settings.everyEpisodes === 0) return null;
  const base = trainer.systemPrompt;
  if (base === undefined || base.trim() === '') {
    throw new InvalidArgumentError({
      argument: 'trainer.systemPrompt',
      value: base,
      message: 'prompt evolution needs a starting system prompt',
    });
  }
  const random = new Random(trainer.config.seed).fork('prompt-evolution');
  const scenarios = trainer.trainingScenarios;
  const fitnessScenarios = random.sample(
    scenarios,
    Math.min(settings.fitnessScenarios, scenarios.length),
  );
  const fitness = meanRewardFitness<string, 'all'>({
    scenarios: ['all'],
    seeds: [trainer.config.evaluation.seed],
    evaluate: async ({ genome }) => {
      const metrics = await trainer.evaluate({
        scenarios: fitnessScenarios,
        systemPrompt: genome.value,
        emit: false,
      });
      return metrics.rewardMean;
    },
  });
  const population = await createPopulation({
    genome: promptGenome({
      phrases: options.phrases,
      ...(options.rewrite ? { rewrite: options.rewrite } : {}),
    }),
    initial: [base, ...(options.initialPrompts ?? []).filter((prompt) => prompt !== base)],
    size: settings.populationSize,
    elitism: settings.eliteCount,
    fitness,
    seed: random.nextUint32(),
    concurrency: 1,
  });
  const schedule = new HybridEvolutionSchedule({
    everyEpisodes: settings.everyEpisodes,
    adoptionMargin: settings.adoptionMargin,
  });
  return { population, schedule, fitness };
}
