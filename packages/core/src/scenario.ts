import { z } from 'zod';

/**
 * One success criterion of a scenario: met when the agent's messages satisfy
 * it. `anyOf` lists phrases of which one must appear (case-insensitive);
 * `allOf` lists phrases that must all appear; `pattern` is a regular
 * expression source tested case-insensitively.
 */
export const SuccessCriterionSchema = z
  .object({
    id: z.string().min(1),
    description: z.string().min(1),
    anyOf: z.array(z.string().min(1)).min(1).optional(),
    allOf: z.array(z.string().min(1)).min(1).optional(),
    pattern: z.string().min(1).optional(),
    /** Weight of this criterion in goal completion (default 1). */
    weight: z.number().positive().default(1),
  })
  .strict()
  .refine((criterion) => criterion.anyOf || criterion.allOf || criterion.pattern, {
    message: 'needs at least one of anyOf, allOf or pattern',
  });

/** A scripted line the simulated user may say, chosen by the user simulator. */
export const UserScriptSchema = z
  .object({
    /** First user message. */
    opening: z.string().min(1),
    /** Follow-ups when the agent has not yet met the criteria. */
    followUps: z.array(z.string().min(1)).default([]),
    /** Said when the user is satisfied (episode ends with success). */
    thanks: z.string().min(1).default('Thank you, that solves it.'),
    /** Said when the user gives up. */
    giveUp: z.string().min(1).default('Never mind, I will go elsewhere.'),
    /** Agent turns without progress that the user tolerates before giving up. */
    patience: z.number().int().positive().default(3),
  })
  .strict();

/**
 * A conversation scenario: who the user is, what they want, and how success is
 * judged. Validated at every boundary (files, configs, user modules).
 */
export const ScenarioSchema = z
  .object({
    id: z.string().min(1),
    /** Grouping such as `refunds`, `shipping`, `technical`, `account`. */
    category: z.string().min(1),
    persona: z.string().min(1),
    goal: z.string().min(1),
    /** Facts the agent may use (order numbers, policies). */
    context: z.string().default(''),
    successCriteria: z.array(SuccessCriterionSchema).min(1),
    maxTurns: z.number().int().positive().max(64),
    user: UserScriptSchema,
    /** `train` or `eval`: which split the scenario belongs to. */
    split: z.enum(['train', 'eval']).default('train'),
  })
  .strict();

export type SuccessCriterion = z.output<typeof SuccessCriterionSchema>;
export type UserScript = z.output<typeof UserScriptSchema>;
export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;
