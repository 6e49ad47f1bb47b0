import { z } from 'zod';
import type { SupportDeskUser } from './support-desk-llm-user';
import { toolLoopFields } from './tool-environment-options';

/**
 * Options of the support desk environment. The reward of an episode is
 * `success * rewards.success + partialCredit * rewards.partialCredit
 *  - wrongActions * rewards.wrongAction - inventedOrderIds * rewards.inventedOrderId`,
 * given at its last turn (see `checkSupportDeskEpisode` for each term).
 */
export const SupportDeskEnvironmentOptionsSchema = z
  .object({
    name: z.string().min(1).default('support-desk'),
    ...toolLoopFields({ toolTimeoutMs: 2000, maxAgentTurns: 10 }),
    patience: z
      .number()
      .int()
      .nonnegative()
      .default(4)
      .describe('Agent questions the customer answers before giving up.'),
    rewards: z
      .object({
        success: z.number().nonnegative().default(1).describe('Weight of task success (0 or 1).'),
        partialCredit: z
          .number()
          .nonnegative()
          .default(0)
          .describe('Weight of the fraction of correct actions and facts told.'),
        wrongAction: z
          .number()
          .nonnegative()
          .default(0)
          .describe('Penalty per change that is not an expected one.'),
        inventedOrderId: z
          .number()
          .nonnegative()
          .default(0)
          .describe('Penalty per order id written that is not in the database.'),
      })
      .strict()
      .prefault({})
      .describe('Weights of the reward terms; task success alone by default.'),
    user: z
      .custom<SupportDeskUser>(
        (value) =>
          typeof value === 'object' &&
          value !== null &&
          typeof (value as { reply?: unknown }).reply === 'function',
        { message: 'must be a SupportDeskUser (an object with reply(input))' },
      )
      .optional()
      .describe(
        'The customer: the scripted one (default) or another, such as createSupportDeskLlmUser.',
      ),
  })
  .strict();

export type SupportDeskEnvironmentOptions = z.output<typeof SupportDeskEnvironmentOptionsSchema>;
export type SupportDeskEnvironmentOptionsInput = z.input<
  typeof SupportDeskEnvironmentOptionsSchema
>;
