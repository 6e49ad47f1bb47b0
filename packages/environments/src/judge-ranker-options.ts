import { z } from 'zod';
import { chatCacheSchema, chatModelSchema } from './chat-model-schemas';

/** Where judged scores are kept between calls: a `Map`, or any store with the same two methods. */
export interface JudgeScoreCache {
  get(key: string): readonly number[] | undefined;
  set(key: string, scores: readonly number[]): unknown;
}

/** The default rubric, after RULER's: relative, goal-first, partial credit for partial progress. */
export const defaultJudgeRubric = [
  'A trajectory that achieves its goal should always score higher than one that does not.',
  'A trajectory that achieves its goal more efficiently (fewer unnecessary steps) scores higher.',
  'If no trajectory achieves the goal, score higher the ones that made more progress toward it.',
  'Invented facts (order numbers, amounts, policies not in the conversation) score low.',
].join('\n');

/**
 * Options of {@link createJudgeRanker}.
 *
 * - `model`: the judge, a `ChatModel` (a transformers.js model or an OpenAI-compatible endpoint).
 * - `rubric`: what the judge rewards (default {@link defaultJudgeRubric}).
 * - `timeoutMs`: a call that runs longer is abandoned and scores nothing (default 60000).
 * - `maxTokens`, `temperature`, `seed`: passed to the judge (defaults 1024, 0, 0).
 * - `cache`: scores kept by a key of the judge, rubric and trajectories (default: a new `Map`);
 *   `null` turns caching off.
 */
export const JudgeRankerOptionsSchema = z
  .object({
    model: chatModelSchema,
    rubric: z.string().min(1).default(defaultJudgeRubric),
    timeoutMs: z.number().positive().max(3_600_000).default(60_000),
    maxTokens: z.number().int().positive().default(1024),
    temperature: z.number().nonnegative().default(0),
    seed: z.number().int().default(0),
    cache: chatCacheSchema<JudgeScoreCache>('scores').optional(),
  })
  .strict();

export type JudgeRankerOptions = z.output<typeof JudgeRankerOptionsSchema>;
export type JudgeRankerOptionsInput = z.input<typeof JudgeRankerOptionsSchema>;
