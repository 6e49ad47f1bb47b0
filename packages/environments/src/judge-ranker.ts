import { type Message, parseWithSchema, type Trajectory, type TrajectoryGroup } from '@cohort/core';
import { callChatModel } from './chat-model-call';
import { isDeepStrictEqual } from './deep-equal';
import {
  type JudgeRankerOptions,
  type JudgeRankerOptionsInput,
  JudgeRankerOptionsSchema,
  type JudgeScoreCache,
} from './judge-ranker-options';

/** One trajectory as the judge sees it. */
export interface JudgedTrajectory {
  id: string;
  messages: readonly Message[];
}

/** What one judge call did: the per-call report a run logs. */
export interface JudgeCallReport {
  groupId: string;
  trajectories: number;
  /** True when the scores came from the cache and the judge was not called. */
  cached: boolean;
  durationMs: number;
  promptCharacters: number;
  responseCharacters: number;
  /** Why the call gave no scores: the timeout, the request failing, or an answer that is not the asked JSON. */
  error?: { kind: 'timeout' | 'request' | 'parse'; message: string };
}

/** Scores of a group, in the order of its trajectories; all null when the call failed. */
export interface JudgeGroupResult {
  scores: (number | null)[];
  explanations: string[];
  report: JudgeCallReport;
}

function render(message: Message): string {
  return `[${message.role}] ${message.content}`;
}

/** How many leading messages every trajectory shares (RULER shows them once, as context). */
function sharedPrefixLength(trajectories: readonly JudgedTrajectory[]): number {
  const first = trajectories[0]?.messages ?? [];
  let length = 0;
  while (
    length < first.length &&
    trajectories.every(
      (trajectory) =>
        trajectory.messages.length > length &&
        isDeepStrictEqual(trajectory.messages[length], first[length]),
    )
  ) {
    length += 1;
  }
  // Keep at least one message in each trajectory.
  return Math.min(
    length,
    Math.min(...trajectories.map((trajectory) => trajectory.messages.length)) - 1,
  );
}

function parseScores(text: string, count: number): { scores: number[]; explanations: string[] } {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) throw new Error('no JSON object in the answer');
  const value = JSON.parse(text.slice(start, end + 1)) as { scores?: unknown };
  if (!Array.isArray(value.scores)) throw new Error('the answer has no "scores" array');
  const scores: (number | undefined)[] = Array.from({ length: count }, () => undefined);
  const explanations: string[] = Array.from({ length: count }, () => '');
  for (const entry of value.scores as Record<string, unknown>[]) {
    const index = Number(entry?.trajectory_id) - 1;
    const score = entry?.score;
    if (!Number.isInteger(index) || index < 0 || index >= count || scores[index] !== undefined) {
      throw new Error(
        `trajectory_id ${String(entry?.trajectory_id)} is not one of 1..${count}, once each`,
      );
    }
    if (typeof score !== 'number' || !(score >= 0 && score <= 1)) {
      throw new Error(
        `the score of trajectory ${index + 1} is ${String(score)}, not a number in [0, 1]`,
      );
    }
    scores[index] = score;
    explanations[index] = typeof entry.explanation === 'string' ? entry.explanation : '';
  }
  const missing = scores.indexOf(undefined);
  if (missing >= 0) throw new Error(`no score for trajectory ${missing + 1}`);
  return { scores: scores as number[], explanations };
}

/**
 * Scores the trajectories of a group relative to each other with a judge
 * model, the RULER idea (OpenPipe ART, 2025): a judge compares the group's
 * trajectories side by side against a rubric and gives each a score in
 * [0, 1]; since group-relative advantages use only differences within a
 * group, a judge need not be calibrated across groups, only consistent
 * within one.
 *
 * The messages all trajectories share (the system prompt, the opening) are
 * shown once as context; the judge must answer
 * `{"scores": [{"trajectory_id": "1", "explanation": "...", "score": 0.8}, ...]}`.
 * Every call is reported (`calls`, and `report` of each result): its time,
 * sizes, whether the cache answered, and why it gave no scores (timeout,
 * failed request, an answer that is not the asked JSON), in which case every
 * score is null and training goes on. Scores are cached by judge, rubric and
 * trajectories.
 *
 * @example
 * ```ts
 * const ranker = createJudgeRanker({ model: createOpenAiCompatibleChatModel({ baseUrl, model: 'judge' }) });
 * const { scores } = await ranker.scoreGroup({ groupId: group.groupId, trajectories: group.trajectories });
 * ```
 */
export class JudgeRanker {
  readonly options: JudgeRankerOptions;
  /** Every call so far, in order. */
  readonly calls: JudgeCallReport[] = [];
  private readonly cache: JudgeScoreCache | null;

  constructor(options: JudgeRankerOptionsInput) {
    this.options = parseWithSchema(JudgeRankerOptionsSchema, options, 'judge ranker options');
    this.cache = this.options.cache === undefined ? new Map() : this.options.cache;
  }

  /** The judge's prompt for a group. */
  prompt(trajectories: readonly JudgedTrajectory[]): Message[] {
    const shared = sharedPrefixLength(trajectories);
    const context = (trajectories[0]?.messages ?? []).slice(0, shared).map(render).join('\n');
    const body = trajectories
      .map(
        (trajectory, index) =>
          `<trajectory id="${index + 1}">\n${trajectory.messages.slice(shared).map(render).join('\n')}\n</trajectory>`,
      )
      .join('\n\n');
    return [
      {
        role: 'system',
        content: [
          `You judge ${trajectories.length} trajectories of an AI agent that all start from the same context.`,
          'Compare them with each other and give each a score from 0 to 1.',
          '',
          'Rubric:',
          this.options.rubric,
          '',
          'Answer with JSON only:',
          '{"scores": [{"trajectory_id": "1", "explanation": "...", "score": 0.0}, ...]}',
          'with one entry per trajectory.',
        ].join('\n'),
      },
      { role: 'user', content: `<context>\n${context}\n</context>\n\n${body}` },
    ];
  }

  async scoreGroup(input: {
    groupId: string;
    trajectories: readonly JudgedTrajectory[];
  }): Promise<JudgeGroupResult> {
    const { trajectories } = input;
    const messages = this.prompt(trajectories);
    const promptCharacters = messages.reduce((sum, message) => sum + message.content.length, 0);
    const key = JSON.stringify([this.options.model.name, messages]);
    const base = { groupId: input.groupId, trajectories: trajectories.length, promptCharacters };
    const cached = this.cache?.get(key);
    if (cached !== undefined) {
      const report = { ...base, cached: true, durationMs: 0, responseCharacters: 0 };
      this.calls.push(report);
      return { scores: [...cached], explanations: cached.map(() => ''), report };
    }
    const call = await callChatModel({
      model: this.options.model,
      messages,
      timeoutMs: this.options.timeoutMs,
      maxTokens: this.options.maxTokens,
      temperature: this.options.temperature,
      seed: this.options.seed,
    });
    let error: JudgeCallReport['error'] = call.error;
    let parsed: { scores: number[]; explanations: string[] } | undefined;
    if (error === undefined) {
      try {
        parsed = parseScores(call.text, trajectories.length);
      } catch (parseError) {
        error = { kind: 'parse', message: (parseError as Error).message };
      }
    }
    const report: JudgeCallReport = {
      ...base,
      cached: false,
      durationMs: call.durationMs,
      responseCharacters: call.text.length,
      ...(error === undefined ? {} : { error }),
    };
    this.calls.push(report);
    if (parsed === undefined) {
      return {
        scores: trajectories.map(() => null),
        explanations: trajectories.map(() => ''),
        report,
      };
    }
    this.cache?.set(key, parsed.scores);
    return { ...parsed, report };
  }
}

/** Creates a {@link JudgeRanker}. */
export function createJudgeRanker(options: JudgeRankerOptionsInput): JudgeRanker {
  return new JudgeRanker(options);
}

/**
 * Adds a group's judge scores to its trajectories as the reward function
 * `name`: `rewardsByFunction[name] = score` and `totalReward += weight * score`;
 * a null score (a failed call) is recorded as null and adds nothing. What a
 * reward stage does with {@link JudgeRanker.scoreGroup}'s result.
 */
export function withGroupScores(options: {
  group: TrajectoryGroup;
  scores: readonly (number | null)[];
  name: string;
  weight: number;
}): TrajectoryGroup {
  const trajectories = options.group.trajectories.map((trajectory, index): Trajectory => {
    const score = options.scores[index] ?? null;
    return {
      ...trajectory,
      rewardsByFunction: { ...trajectory.rewardsByFunction, [options.name]: score },
      totalReward: trajectory.totalReward + (score === null ? 0 : options.weight * score),
    };
  });
  return { ...options.group, trajectories };
}
