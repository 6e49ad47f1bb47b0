import { parseWithSchema, ValidationError, type ValidationIssue } from '@cohort/core';
import { z } from 'zod';

/** Bounds of one member hyperparameter (see `HyperparameterBounds` in `@cohort/evolution`). */
const BoundsSchema = z
  .object({
    minimum: z.number().finite(),
    maximum: z.number().finite(),
    logScale: z.boolean().optional(),
  })
  .strict();

/** The hyperparameters a member may carry, and where each one takes effect in the trainer config. */
export const memberHyperparameterNames = [
  'learningRate',
  'klCoefficient',
  'temperature',
  'entropyCoefficient',
  'clipRange',
] as const;

export type MemberHyperparameterName = (typeof memberHyperparameterNames)[number];

/**
 * The declared ranges of the member hyperparameters. Learning rate on a log
 * scale as in PBT (Jaderberg et al. 2017, sec. 4.1); the KL and entropy
 * coefficients are linear so that 0 (off) stays reachable.
 */
export const defaultMemberHyperparameterSpace = {
  learningRate: { minimum: 1e-5, maximum: 1e-1, logScale: true },
  klCoefficient: { minimum: 0, maximum: 0.5 },
  temperature: { minimum: 0.5, maximum: 1.5 },
  entropyCoefficient: { minimum: 0, maximum: 0.1 },
  clipRange: { minimum: 0.05, maximum: 0.5 },
} as const satisfies Record<MemberHyperparameterName, z.input<typeof BoundsSchema>>;

/**
 * A population schedule over members that share one frozen base: each member
 * is a set of adapters (or, for small policies, all weights) with its own
 * optimizer state, hyperparameters and system prompt.
 */
export const PopulationScheduleOptionsSchema = z
  .object({
    mode: z
      .enum(['pbt', 'erl'])
      .default('pbt')
      .describe(
        "'pbt': every member trains by gradient, in turn; at each generation the bottom quantile copies a better member's adapters and optimizer state and perturbs its hyperparameters (Jaderberg et al. 2017). 'erl': member 0 trains by gradient, the others evolve by Gaussian mutation of the adapters; the learner is injected in place of the worst, and adopts the best when it is better by adoptionMargin (Khadka and Tumer 2018).",
      ),
    size: z.number().int().min(2).default(4).describe('Members in the population.'),
    everyEpisodes: z
      .number()
      .int()
      .positive()
      .describe(
        'A generation runs every this many training episodes of the whole population (all members together, so equal-episode comparisons with a single learner are fair).',
      ),
    adoptionMargin: z
      .number()
      .min(0)
      .default(0.05)
      .describe(
        'A member copies or adopts another only when its fitness is higher by more than this; ties and noise do not churn the population.',
      ),
    fitnessScenarios: z
      .number()
      .int()
      .positive()
      .default(8)
      .describe(
        'Training scenarios in the fixed fitness subset, drawn once; every member is scored on the same scenarios with the evaluation seed.',
      ),
    fitness: z
      .enum(['success', 'reward', 'judge'])
      .default('success')
      .describe(
        "'success': task success rate (Wilson interval); 'reward': mean reward (normal interval); 'judge': relative ranking by a judge model (RULER): each fitness episode's trajectories of all members (same scenario, same seed) are one group the judge scores side by side in [0, 1], in an order shuffled per group; fitness is a member's mean score (normal interval). Needs a judge.",
      ),
    fitnessTemperature: z
      .enum(['evaluation', 'member'])
      .default('evaluation')
      .describe(
        "Temperature of the fitness episodes. 'evaluation': the trainer config's evaluation.temperature for every member (0, greedy, by default; members whose adapters differ a little then pick the same answers and tie). 'member': each member samples at its own temperature (the one it trains with), on the same evaluation seed for every member, so scores stay paired and move with every change of the answer probabilities (as ERL scores its actors by their episode returns; Khadka and Tumer 2018). With mode 'erl' it needs initialHyperparameters 'config': the learner keeps its temperature when it adopts, so a lead from a colder evolved member would not carry over.",
      ),
    confidence: z.number().gt(0).lt(1).default(0.95).describe('Coverage of the fitness intervals.'),
    quantile: z
      .number()
      .gt(0)
      .max(0.5)
      .default(0.25)
      .describe('PBT: fraction of members in the bottom (exploited) and top (copied) groups.'),
    perturbationFactors: z
      .array(z.number().positive())
      .min(1)
      .default([0.8, 1.2])
      .describe("PBT's explore: each hyperparameter is multiplied by one of these factors."),
    resampleProbability: z
      .number()
      .min(0)
      .max(1)
      .default(0.25)
      .describe("PBT's explore: probability that a hyperparameter is redrawn from its range."),
    hyperparameters: z
      .partialRecord(z.enum(memberHyperparameterNames), BoundsSchema)
      .default(defaultMemberHyperparameterSpace)
      .describe(
        'The hyperparameters each member carries, with their declared ranges; those left out keep the trainer config value for every member.',
      ),
    initialHyperparameters: z
      .enum(['config', 'sample'])
      .default('sample')
      .describe(
        "'sample': member 0 starts at the trainer config's values (clamped into the ranges), the others at draws from the ranges (PBT); 'config': every member starts at the config's values.",
      ),
    mutationStandardDeviation: z
      .number()
      .positive()
      .default(0.02)
      .describe('ERL: standard deviation of the Gaussian mutation of adapter weights.'),
    geneProbability: z
      .number()
      .gt(0)
      .max(1)
      .default(0.1)
      .describe('ERL: probability that each adapter weight is mutated.'),
    evolvePrompts: z
      .boolean()
      .default(false)
      .describe(
        "Also evolve each member's system prompt: explore (PBT) and mutation (ERL) mutate the copied prompt, with crossover of the two members' prompts at promptCrossoverRate. Needs a prompt genome.",
      ),
    promptCrossoverRate: z.number().min(0).max(1).default(0.5),
    seed: z
      .number()
      .int()
      .default(0)
      .describe('Seed of the population (fitness subset, explore, mutation).'),
  })
  .strict();

export type PopulationScheduleOptions = z.output<typeof PopulationScheduleOptionsSchema>;
export type PopulationScheduleOptionsInput = z.input<typeof PopulationScheduleOptionsSchema>;

/**
 * The combinations of valid fields that cannot run together, each naming its
 * field: ERL members scored at their own temperatures when the evolved
 * members draw theirs (the learner adopts adapters, not a temperature).
 */
export function populationScheduleIssues(
  options: Pick<
    PopulationScheduleOptions,
    'mode' | 'fitnessTemperature' | 'initialHyperparameters'
  >,
  prefix = '',
): ValidationIssue[] {
  if (
    options.mode === 'erl' &&
    options.fitnessTemperature === 'member' &&
    options.initialHyperparameters === 'sample'
  ) {
    return [
      {
        path: `${prefix}initialHyperparameters`,
        message:
          "is 'sample' with mode 'erl' and fitnessTemperature 'member': evolved members would be scored at drawn temperatures the learner does not sample at after it adopts their adapters; use 'config'",
      },
    ];
  }
  return [];
}

/** Validates population schedule options, naming the bad field. */
export function parsePopulationScheduleOptions(input: unknown): PopulationScheduleOptions {
  const options = parseWithSchema(
    PopulationScheduleOptionsSchema,
    input,
    'population schedule options',
  );
  const issues = populationScheduleIssues(options);
  if (issues.length > 0) throw new ValidationError({ what: 'population schedule options', issues });
  return options;
}
