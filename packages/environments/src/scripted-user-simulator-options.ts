import { z } from 'zod';

/**
 * Options of the {@link ScriptedUserSimulator}.
 *
 * @example
 * ```ts
 * ScriptedUserSimulatorOptionsSchema.parse({}); // the defaults below
 * ```
 */
export const ScriptedUserSimulatorOptionsSchema = z
  .object({
    /** Said (before a continuation) after an agent turn that met a new criterion. */
    acknowledgements: z
      .array(z.string().min(1))
      .min(1)
      .default(['Okay, thanks.', 'Good, that helps.', 'Alright.', 'Great, thank you.']),
    /** Said after an acknowledgement, to ask for the rest. */
    continuations: z
      .array(z.string().min(1))
      .min(1)
      .default(['What else should I know?', 'Is there anything else?', 'What happens next?']),
    /** Used when the scenario has no follow-ups and the agent made no progress. */
    fallbackFollowUps: z
      .array(z.string().min(1))
      .min(1)
      .default(['That does not answer my question.', 'Can you please help me with my problem?']),
  })
  .strict();

export type ScriptedUserSimulatorOptions = z.output<typeof ScriptedUserSimulatorOptionsSchema>;
export type ScriptedUserSimulatorOptionsInput = z.input<typeof ScriptedUserSimulatorOptionsSchema>;
