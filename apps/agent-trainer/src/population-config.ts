import type { ValidationIssue } from '@cohort/core';
import {
  type PopulationScheduleOptionsInput,
  PopulationScheduleOptionsSchema,
  populationScheduleIssues,
} from '@cohort/trainer';
import { z } from 'zod';

/** The schedules a population combines. */
export const populationSchedules = ['pbt', 'erl', 'prompts'] as const;

const scheduleFields = PopulationScheduleOptionsSchema.shape;

/**
 * The `population:` section of an app config: a population of members on the
 * policy's one frozen base (each member its LoRA adapters, optimizer state,
 * hyperparameters and system prompt), trained in turn, with a generation
 * every `everyEpisodes` training episodes of the whole population. The
 * fields other than `schedule` and `members` are `@cohort/trainer`'s
 * `PopulationScheduleOptions`, with their help text.
 */
export const PopulationConfigSchema = z
  .object({
    schedule: z
      .array(z.enum(populationSchedules))
      .min(1)
      .default(['pbt'])
      .describe(
        "what evolves, combinable: 'pbt' (every member trains; the bottom quantile copies a better member's adapters and optimizer state and perturbs its hyperparameters; Jaderberg et al. 2017), 'erl' (member 0 trains by gradient, the others evolve by mutation; the learner is injected and adopts the best past the margin; Khadka and Tumer 2018), 'prompts' (copies and mutations also mutate and cross over system prompts; with pbt or erl)",
      ),
    members: z
      .number()
      .int()
      .min(2)
      .max(16)
      .default(4)
      .describe(
        'members in the population; each holds a copy of the adapters and optimizer moments (16 at most: every member is evaluated at every generation)',
      ),
    everyEpisodes: scheduleFields.everyEpisodes,
    quantile: scheduleFields.quantile,
    adoptionMargin: scheduleFields.adoptionMargin,
    fitnessScenarios: scheduleFields.fitnessScenarios,
    // The library's 'judge' fitness needs a judge model the app does not build for populations yet.
    fitness: z
      .enum(['success', 'reward'])
      .default('success')
      .describe(
        "'success': task success rate (Wilson interval); 'reward': mean reward (normal interval)",
      ),
    fitnessTemperature: scheduleFields.fitnessTemperature,
    confidence: scheduleFields.confidence,
    hyperparameters: scheduleFields.hyperparameters,
    initialHyperparameters: scheduleFields.initialHyperparameters,
    perturbationFactors: scheduleFields.perturbationFactors,
    resampleProbability: scheduleFields.resampleProbability,
    mutationStandardDeviation: scheduleFields.mutationStandardDeviation,
    geneProbability: scheduleFields.geneProbability,
    promptCrossoverRate: scheduleFields.promptCrossoverRate.describe(
      'prompts: probability that a copied prompt is crossed over with the replaced member’s before mutation',
    ),
    seed: z
      .number()
      .int()
      .optional()
      .describe('seed of the fitness subset, explore and mutation (default: trainer.seed)'),
  })
  .strict();

export type PopulationConfig = z.output<typeof PopulationConfigSchema>;

/**
 * The combinations of a population section that cannot run, each naming its
 * field: `pbt` with `erl`; `prompts` alone (the single learner's prompt
 * evolution is `trainer.evolution`); `prompts` without a system prompt to
 * evolve; ERL scored at temperatures the evolved members drew
 * (`populationScheduleIssues`); a file whose own `trainer.evolution` or
 * `evolution.prompts` would run beside the population, where the population
 * evolves the prompts.
 */
export function populationIssues(options: {
  population: PopulationConfig;
  /** Whether the run has a system prompt (the config's, or its environment's own). */
  hasSystemPrompt: boolean;
  /** `trainer.evolution.everyEpisodes` as the file wrote it (undefined: not written). */
  fileEvolutionEpisodes: unknown;
  fileEvolutionPrompts: boolean;
}): ValidationIssue[] {
  const { schedule } = options.population;
  const issues: ValidationIssue[] = [];
  if (new Set(schedule).size !== schedule.length) {
    issues.push({
      path: 'population.schedule',
      message: `names a schedule twice: ${JSON.stringify(schedule)}`,
    });
  }
  if (schedule.includes('pbt') && schedule.includes('erl')) {
    issues.push({
      path: 'population.schedule',
      message:
        "combines 'pbt' and 'erl', which are two ways to run the same members: choose one (each combines with 'prompts')",
    });
  }
  if (!schedule.includes('pbt') && !schedule.includes('erl')) {
    issues.push({
      path: 'population.schedule',
      message:
        "is ['prompts'] alone: combine it with 'pbt' or 'erl' (prompt evolution over the single learner is trainer.evolution, without a population)",
    });
  }
  if (schedule.includes('prompts') && !options.hasSystemPrompt) {
    issues.push({
      path: 'population.schedule',
      message:
        "has 'prompts', but the run has no system prompt to evolve: set systemPrompt (this environment brings none)",
    });
  }
  if (typeof options.fileEvolutionEpisodes === 'number' && options.fileEvolutionEpisodes > 0) {
    issues.push({
      path: 'trainer.evolution.everyEpisodes',
      message: `is ${options.fileEvolutionEpisodes}, but the single learner's prompt evolution does not run beside a population: set it to 0, and add 'prompts' to population.schedule`,
    });
  }
  issues.push(
    ...populationScheduleIssues(
      {
        mode: schedule.includes('erl') ? 'erl' : 'pbt',
        fitnessTemperature: options.population.fitnessTemperature,
        initialHyperparameters: options.population.initialHyperparameters,
      },
      'population.',
    ),
  );
  if (options.fileEvolutionPrompts) {
    issues.push({
      path: 'evolution.prompts',
      message:
        "seeds the single learner's prompt evolution, which does not run beside a population (every member starts from systemPrompt)",
    });
  }
  return issues;
}

/** The `AdapterPopulation` options of a population section (the seed defaults to the trainer's). */
export function populationScheduleOptions(
  population: PopulationConfig,
  trainerSeed: number,
): PopulationScheduleOptionsInput {
  const { schedule, members, seed, ...rest } = population;
  return {
    ...rest,
    mode: schedule.includes('erl') ? 'erl' : 'pbt',
    size: members,
    evolvePrompts: schedule.includes('prompts'),
    seed: seed ?? trainerSeed,
  };
}
