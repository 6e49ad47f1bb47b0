import { z } from 'zod';
import { MessageSchema } from './message';
import { ToolCallRecordSchema } from './tool';

/** Zod schema of a {@link Turn}. */
export const TurnSchema = z
  .object({
    /** `tool` spans the results of one agent turn's tool calls, rendered together. */
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    content: z.string(),
    /** Range `[tokenStart, tokenEnd)` of this turn's tokens in `Trajectory.tokenIds`. */
    tokenStart: z.number().int().nonnegative(),
    tokenEnd: z.number().int().nonnegative(),
    /** Reward of an assistant turn (sum of the turn-scoped reward functions and the environment's), else null. */
    reward: z.number().nullable().default(null),
    finishReason: z.enum(['eos', 'stop', 'length']).optional(),
  })
  .strict();

/**
 * Zod schema of a {@link Trajectory}: the serializable record that a rollout
 * produces and a learner consumes. Rollouts and learning meet only through it.
 */
export const TrajectorySchema = z
  .object({
    id: z.string().min(1),
    scenarioId: z.string().min(1),
    /** Seed of the episode (environment and sampling). */
    seed: z.number().int(),
    /** Version of the policy weights that sampled the agent's tokens. */
    policyVersion: z.number().int().nonnegative(),
    messages: z.array(MessageSchema),
    turns: z.array(TurnSchema),
    /** The whole conversation as token ids: template tokens and sampled tokens as sampled. */
    tokenIds: z.array(z.number().int().nonnegative()),
    /** 1 where the policy sampled the token and it counts in the loss, else 0. */
    lossMask: z.array(z.union([z.literal(0), z.literal(1)])),
    /** Sampler log-probability of each token where `lossMask` is 1, else 0. */
    behaviorLogProbs: z.array(z.number()),
    /** Reward of each agent turn, in order. */
    rewardsPerTurn: z.array(z.number()),
    /** Episode-level reward of each reward function; null where it did not apply or failed. */
    rewardsByFunction: z.record(z.string(), z.number().nullable()),
    /** The scalar return used by group-relative estimators. */
    totalReward: z.number(),
    /**
     * Why the episode ended. `external`: an agent program outside the trainer
     * ended it (gateway episodes) without reporting that the task succeeded.
     */
    endReason: z.enum(['success', 'give-up', 'turn-limit', 'length', 'error', 'external']),
    /** True when an agent turn hit the token limit. */
    truncated: z.boolean(),
    /** Sampling temperature, needed to recompute matching log-probs. */
    temperature: z.number().nonnegative(),
    /** Every tool call of the episode, in order; absent when the environment offers no tools. */
    toolCalls: z.array(ToolCallRecordSchema).optional(),
  })
  .strict()
  .superRefine((trajectory, context) => {
    const length = trajectory.tokenIds.length;
    for (const key of ['lossMask', 'behaviorLogProbs'] as const) {
      if (trajectory[key].length !== length) {
        context.addIssue({
          code: 'custom',
          path: [key],
          message: `has length ${trajectory[key].length}, expected tokenIds.length = ${length}`,
        });
      }
    }
  });

export type Turn = z.output<typeof TurnSchema>;
export type Trajectory = z.output<typeof TrajectorySchema>;

/** The G trajectories sampled for one scenario and seed: the unit of group-relative advantages. */
export interface TrajectoryGroup {
  groupId: string;
  scenarioId: string;
  trajectories: Trajectory[];
}
