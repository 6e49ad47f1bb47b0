import type { RolloutTransport } from '@cohort/transport';
import { z } from 'zod';

/**
 * Zod schema of {@link TransportRolloutsOptions}: where the trainer's rollouts
 * run when they leave its process.
 */
export const TransportRolloutsOptionsSchema = z
  .object({
    /** The transport that carries tasks out and trajectory groups back (in-process or NATS JetStream). */
    transport: z.custom<RolloutTransport>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as RolloutTransport).submit === 'function' &&
        typeof (value as RolloutTransport).collect === 'function',
      'must be a RolloutTransport (createInProcessTransport() or createNatsTransport())',
    ),
    /**
     * `synchronous`: each step's tasks are sampled with the learner's current
     * weights, so a run with workers is bit-identical to one with an
     * in-process transport. `asynchronous`: the tasks of the next
     * `stepsAhead` steps are handed out before the current step learns, so
     * workers sample while the learner updates; groups more than the
     * trainer's `maxPolicyLag` versions old are dropped and counted.
     */
    mode: z.enum(['synchronous', 'asynchronous']).default('synchronous'),
    /** Asynchronous mode: how many steps' tasks are handed out ahead of the learner. */
    stepsAhead: z.number().int().min(1).max(16).optional(),
    /** Tasks still without an outcome after this long are given up (counted in `lostGroups`). */
    timeoutMs: z.number().int().positive().default(600_000),
  })
  .strict()
  .superRefine((options, context) => {
    if (options.mode === 'synchronous' && options.stepsAhead !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['stepsAhead'],
        message: `is ${options.stepsAhead}, but only the asynchronous mode hands tasks out ahead (set mode: 'asynchronous')`,
      });
    }
  });

/** Options of the trainer's rollouts over a transport, as given. */
export type TransportRolloutsOptionsInput = z.input<typeof TransportRolloutsOptionsSchema>;

/** Options of the trainer's rollouts over a transport, validated. */
export type TransportRolloutsOptions = z.output<typeof TransportRolloutsOptionsSchema>;
