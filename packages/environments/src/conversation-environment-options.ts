import type { Scenario, UserSimulator } from '@cohort/core';
import { z } from 'zod';

/** Default system prompt of the conversation environment. */
export const defaultSupportSystemPrompt =
  'You are a helpful customer support agent. Be polite, use the facts you are given, and resolve the customer problem.';

/**
 * Options of {@link ConversationEnvironment}.
 *
 * - `userSimulator`: who writes the user's turns (default: a
 *   {@link ScriptedUserSimulator}); the LLM simulator of `@cohort/transformers`
 *   plugs in here.
 * - `systemPrompt`: the agent's instructions; `reset({ systemPrompt })` overrides it.
 * - `includeContext`: append `Context: <scenario.context>` to the system prompt.
 * - `turnReward`: per-turn shaping. `none` (default): every turn earns 0.
 *   `criteria-progress`: a turn earns the weight of the criteria it newly met,
 *   divided by the total weight, `r_t = sum_{i newly met at t} w_i / sum_i w_i`,
 *   so the turn rewards of an episode sum to its goal completion.
 */
export const ConversationEnvironmentOptionsSchema = z
  .object({
    name: z.string().min(1).default('conversation'),
    userSimulator: z
      .custom<UserSimulator<Scenario>>(
        (value) =>
          typeof value === 'object' &&
          value !== null &&
          typeof (value as { respond?: unknown }).respond === 'function',
        { message: 'must be a UserSimulator (an object with a respond(input) method)' },
      )
      .optional(),
    systemPrompt: z.string().min(1).default(defaultSupportSystemPrompt),
    includeContext: z.boolean().default(true),
    turnReward: z.enum(['none', 'criteria-progress']).default('none'),
  })
  .strict();

export type ConversationEnvironmentOptions = z.output<typeof ConversationEnvironmentOptionsSchema>;
export type ConversationEnvironmentOptionsInput = z.input<
  typeof ConversationEnvironmentOptionsSchema
>;
