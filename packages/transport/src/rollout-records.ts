import { TrajectorySchema } from '@cohort/core';
import { z } from 'zod';

/**
 * Task and result ids travel as NATS subject tokens, so they are limited to
 * characters that every transport accepts as one token.
 */
export const RolloutIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be 1-128 characters from A-Z a-z 0-9 _ -');

/** Zod schema of a {@link RolloutTask}. */
export const RolloutTaskSchema = z
  .object({
    /** Unique in the run and stable across a resume: the unit of exactly-once accounting. */
    taskId: RolloutIdSchema,
    /** Trainer step whose batch the task belongs to. */
    step: z.number().int().nonnegative(),
    scenarioId: z.string().min(1),
    /** Seed of the episode (environment and sampling). */
    seed: z.number().int(),
    /** Index of the group in the step's batch. */
    groupIndex: z.number().int().nonnegative(),
    /** Number of episodes to run for the scenario (G). */
    groupSize: z.number().int().positive(),
    /** Policy version the task must be run with (synchronous mode) or may be run with at the oldest. */
    policyVersion: z.number().int().nonnegative(),
    /** Anything else the worker's handler needs, as JSON. */
    payload: z.unknown().optional(),
  })
  .strict();

/** One unit of rollout work: a scenario, a seed, a group size and the policy version to sample with. */
export type RolloutTask = z.output<typeof RolloutTaskSchema>;

/** Zod schema of a {@link RolloutResult}; trajectories are checked with `TrajectorySchema` on arrival. */
export const RolloutResultSchema = z
  .object({
    taskId: RolloutIdSchema,
    workerId: z.string().min(1).max(200),
    /** Policy version that sampled every trajectory of the group. */
    policyVersion: z.number().int().nonnegative(),
    /** How many times the transport had handed the task out when this result was made (1 = first try). */
    attempt: z.number().int().positive(),
    group: z
      .object({
        groupId: z.string().min(1),
        scenarioId: z.string().min(1),
        trajectories: z.array(TrajectorySchema),
      })
      .strict(),
  })
  .strict()
  .superRefine((result, context) => {
    result.group.trajectories.forEach((trajectory, index) => {
      if (trajectory.policyVersion !== result.policyVersion) {
        context.addIssue({
          code: 'custom',
          path: ['group', 'trajectories', index, 'policyVersion'],
          message: `is ${trajectory.policyVersion}, but the result says ${result.policyVersion}`,
        });
      }
    });
  });

/** A finished task: the trajectory group a worker produced, stamped with the worker and the policy version. */
export type RolloutResult = z.output<typeof RolloutResultSchema>;

/** Zod schema of a {@link RolloutFailure}. */
export const RolloutFailureSchema = z
  .object({
    taskId: RolloutIdSchema,
    workerId: z.string().min(1).max(200),
    attempt: z.number().int().positive(),
    /** The error the worker's handler threw, as text. */
    error: z.string(),
  })
  .strict();

/** A task whose handler threw: reported to the learner instead of a result. */
export type RolloutFailure = z.output<typeof RolloutFailureSchema>;

/** A policy version's weights as opaque bytes (full weights, or only LoRA adapters). */
export interface PolicySnapshot {
  version: number;
  /** What the bytes hold, for the worker's loader: for example `'full'` or `'adapter'`. */
  kind: string;
  bytes: Uint8Array;
}
