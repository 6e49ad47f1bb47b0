import { createHash } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, type RewardContext } from '@cohort/core';
import type { CandidateRewardSource } from '@cohort/trainer';

/**
 * What a person is asked. `choose`: which of the K candidate replies to the
 * query is best (the answer is its index). `score`: how good one reply is (the
 * answer is in [0, 1]). `group`: how good each of the G replies of a GRPO
 * group is, seen side by side (the answer is one score in [0, 1] per reply).
 */
export interface FeedbackItem {
  /** Content address: the same question always has the same id, across restarts. */
  id: string;
  kind: 'choose' | 'score' | 'group';
  prompt: string;
  query: string;
  candidates: string[];
  /** When the trainer first asked (ISO time). */
  askedAt: string;
}

/** A person's answer, as stored in `feedback.jsonl`. */
export interface FeedbackRating {
  kind: 'rating';
  itemId: string;
  itemKind: FeedbackItem['kind'];
  /** `choose`: index of the best candidate; `score`: in [0, 1]; `group`: a score in [0, 1] per candidate; null: skipped. */
  answer: number | number[] | null;
  who: string;
  time: string;
  prompt: string;
  query: string;
  candidates: string[];
}

/**
 * What a person sees of one episode in a group question: the agent's reply,
 * or for several agent turns the whole exchange after the opening message.
 */
function groupReply(context: RewardContext<unknown>): string {
  const agentTurns = context.messages.filter((message) => message.role === 'assistant');
  if (agentTurns.length <= 1) return context.completion;
  const opening = context.messages.findIndex((message) => message.role === 'user');
  return context.messages
    .slice(opening + 1)
    .map(
      (message) => `${message.role === 'assistant' ? 'agent' : message.role}: ${message.content}`,
    )
    .join('\n');
}

/** The file in a run directory that holds the ratings, one JSON line each. */
export const feedbackFileName = 'feedback.jsonl';

function itemId(kind: FeedbackItem['kind'], prompt: string, query: string, candidates: string[]) {
  return createHash('sha256')
    .update(JSON.stringify([kind, prompt, query, candidates]))
    .digest('hex')
    .slice(0, 16);
}

/**
 * Where a trainer's questions meet a person's answers. The trainer awaits
 * {@link FeedbackBroker.request}; the console lists {@link FeedbackBroker.pending}
 * and calls {@link FeedbackBroker.rate}. Every rating is appended to
 * `feedback.jsonl` in the run directory (and synced to disk) before anybody
 * hears of it, with who gave it and when; a broker opened again on the same
 * directory answers a question already rated from the file, so a restarted
 * run or a resumed session never asks twice.
 *
 * @example
 * ```ts
 * const broker = await FeedbackBroker.open({ runDirectory: 'runs/feedback' });
 * const trainer = new CandidateSelectorTrainer({ ...parts, reward: broker.candidateReward() });
 * ```
 */
export class FeedbackBroker {
  readonly runDirectory: string;
  readonly file: string;
  private readonly answers = new Map<string, FeedbackRating>();
  private readonly waiting = new Map<
    string,
    { item: FeedbackItem; resolve: ((rating: FeedbackRating) => void)[] }
  >();
  private writes: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  private constructor(runDirectory: string) {
    this.runDirectory = runDirectory;
    this.file = path.join(runDirectory, feedbackFileName);
  }

  /** Opens (creating the directory if needed) and loads the ratings already given. */
  static async open(options: { runDirectory: string }): Promise<FeedbackBroker> {
    if (typeof options?.runDirectory !== 'string' || options.runDirectory === '') {
      throw new InvalidArgumentError({
        argument: 'runDirectory',
        value: options?.runDirectory,
        message: 'must be a directory path',
      });
    }
    const broker = new FeedbackBroker(path.resolve(options.runDirectory));
    await mkdir(broker.runDirectory, { recursive: true });
    let text = '';
    try {
      text = await readFile(broker.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const lines = text.split('\n');
    for (const [index, line] of lines.entries()) {
      if (line.trim() === '') continue;
      let record: FeedbackRating;
      try {
        record = JSON.parse(line) as FeedbackRating;
      } catch {
        // A crash mid-append leaves a last line with no newline; its rating was never acknowledged.
        if (index === lines.length - 1) continue;
        throw new InvalidArgumentError({
          argument: `${broker.file} line ${index + 1}`,
          value: line.slice(0, 80),
          message: 'is not JSON',
        });
      }
      if (record.kind === 'rating' && typeof record.itemId === 'string') {
        broker.answers.set(record.itemId, record);
      }
    }
    return broker;
  }

  /** Ratings given so far (from the file and this session), oldest first. */
  ratings(): FeedbackRating[] {
    return [...this.answers.values()].sort((a, b) => a.time.localeCompare(b.time));
  }

  /** Questions a trainer is waiting on, oldest first. */
  pending(): FeedbackItem[] {
    return [...this.waiting.values()].map((entry) => entry.item);
  }

  /** Calls `listener` whenever a question is asked or answered; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /**
   * Asks a person and resolves with their rating: at once when this question
   * (same kind, prompt, query and candidates) was rated before.
   */
  request(
    question: {
      kind: FeedbackItem['kind'];
      prompt: string;
      query: string;
      candidates: readonly string[];
    },
    options: { signal?: AbortSignal } = {},
  ): Promise<FeedbackRating> {
    const candidates = [...question.candidates];
    const minimum = question.kind === 'score' ? 1 : 2;
    if (candidates.length < minimum || candidates.some((text) => typeof text !== 'string')) {
      throw new InvalidArgumentError({
        argument: 'candidates',
        value: question.candidates,
        message: `must be at least ${minimum} strings for a ${question.kind} question`,
      });
    }
    const id = itemId(question.kind, question.prompt, question.query, candidates);
    const known = this.answers.get(id);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      // A caller that stops waiting (a timeout) withdraws the question when nobody else waits on it.
      options.signal?.addEventListener(
        'abort',
        () => {
          const waiting = this.waiting.get(id);
          if (!waiting) return;
          waiting.resolve = waiting.resolve.filter((other) => other !== resolve);
          if (waiting.resolve.length === 0) {
            this.waiting.delete(id);
            this.changed();
          }
          reject(options.signal?.reason);
        },
        { once: true },
      );
      const entry = this.waiting.get(id);
      if (entry) {
        entry.resolve.push(resolve);
        return;
      }
      const item: FeedbackItem = {
        id,
        kind: question.kind,
        prompt: question.prompt,
        query: question.query,
        candidates,
        askedAt: new Date().toISOString(),
      };
      this.waiting.set(id, { item, resolve: [resolve] });
      this.changed();
    });
  }

  /**
   * Stores a person's answer to a pending question, durably, then hands it to
   * the trainer. Throws {@link InvalidArgumentError} naming the field for an
   * unknown or already answered item, a bad answer or a missing name.
   */
  async rate(input: {
    itemId: string;
    answer: number | number[] | null;
    who: string;
  }): Promise<FeedbackRating> {
    const entry = this.waiting.get(input.itemId);
    if (!entry) {
      throw new InvalidArgumentError({
        argument: 'itemId',
        value: input.itemId,
        message: this.answers.has(input.itemId)
          ? 'was already rated'
          : 'is not a question the trainer is waiting on',
      });
    }
    const { item } = entry;
    const answer = input.answer;
    if (answer !== null) {
      const isScore = (value: unknown) => typeof value === 'number' && value >= 0 && value <= 1;
      const valid =
        item.kind === 'choose'
          ? Number.isInteger(answer) &&
            (answer as number) >= 0 &&
            (answer as number) < item.candidates.length
          : item.kind === 'score'
            ? isScore(answer)
            : Array.isArray(answer) &&
              answer.length === item.candidates.length &&
              answer.every(isScore);
      if (!valid) {
        throw new InvalidArgumentError({
          argument: 'answer',
          value: answer,
          message:
            item.kind === 'choose'
              ? `must be a candidate index in [0, ${item.candidates.length - 1}] or null`
              : item.kind === 'score'
                ? 'must be a score in [0, 1] or null'
                : `must be ${item.candidates.length} scores in [0, 1] (one per reply) or null`,
        });
      }
    }
    if (typeof input.who !== 'string' || input.who.trim() === '' || input.who.length > 80) {
      throw new InvalidArgumentError({
        argument: 'who',
        value: input.who,
        message: 'must be a name of 1 to 80 characters',
      });
    }
    const rating: FeedbackRating = {
      kind: 'rating',
      itemId: item.id,
      itemKind: item.kind,
      answer: Array.isArray(answer) ? [...answer] : answer,
      who: input.who.trim(),
      time: new Date().toISOString(),
      prompt: item.prompt,
      query: item.query,
      candidates: item.candidates,
    };
    // Taken off the waiting list first, so two people answering at once cannot both store.
    this.waiting.delete(item.id);
    try {
      await this.append(rating);
    } catch (error) {
      this.waiting.set(item.id, entry);
      throw error;
    }
    this.answers.set(item.id, rating);
    for (const resolve of entry.resolve) resolve(rating);
    this.changed();
    return rating;
  }

  private append(rating: FeedbackRating): Promise<void> {
    const write = this.writes.then(async () => {
      const handle = await open(this.file, 'a');
      try {
        await handle.write(`${JSON.stringify(rating)}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    });
    this.writes = write.catch(() => undefined);
    return write;
  }

  /**
   * The `ask` of `humanFeedbackReward` (`@cohort/environments`): each scored
   * agent turn becomes a `score` question (the system prompt, the last user
   * message, the reply) answered in [0, 1]; a skip is null. When the reward's
   * timeout fires, the question is withdrawn from the page.
   *
   * @example
   * ```ts
   * const reward = humanFeedbackReward({ ask: broker.askForFeedback(), timeoutMs: 600_000, range: [0, 1] });
   * ```
   */
  askForFeedback(): (
    context: RewardContext<unknown>,
    options: { signal: AbortSignal },
  ) => Promise<number | null> {
    return async (context, options) => {
      const system = context.messages.find((message) => message.role === 'system');
      const user = [...context.messages].reverse().find((message) => message.role === 'user');
      const rating = await this.request(
        {
          kind: 'score',
          prompt: system?.content ?? '',
          query: user?.content ?? '',
          candidates: [context.completion],
        },
        { signal: options.signal },
      );
      return typeof rating.answer === 'number' ? rating.answer : null;
    };
  }

  /**
   * The `ask` of `humanFeedbackReward` for GRPO that shows a person the G
   * replies of a group side by side: the asks of one scenario (the trainer
   * scores a group's episodes at once) are gathered until `groupSize` have
   * come, or `gatherMs` after the first, into one `group` question; the person
   * scores each reply in [0, 1] and each episode gets its own score (all null
   * when skipped). A reply of several agent turns is shown as its whole
   * exchange after the opening message. Use an episode-scoped reward (the
   * default): turn-scoped rewards are asked one episode at a time, so each
   * would wait `gatherMs` and come alone, as a `score` question.
   *
   * @example
   * ```ts
   * const reward = humanFeedbackReward({ ask: broker.askGroupForFeedback({ groupSize: 4 }), timeoutMs: 600_000 });
   * ```
   */
  askGroupForFeedback(options: {
    groupSize: number;
    gatherMs?: number;
  }): (
    context: RewardContext<unknown>,
    options: { signal: AbortSignal },
  ) => Promise<number | null> {
    const { groupSize, gatherMs = 1000 } = options ?? ({} as { groupSize: number });
    if (!Number.isInteger(groupSize) || groupSize < 2) {
      throw new InvalidArgumentError({
        argument: 'groupSize',
        value: groupSize,
        message: 'must be an integer >= 2 (a group of one is a score question: askForFeedback)',
      });
    }
    if (!(Number.isFinite(gatherMs) && gatherMs >= 0)) {
      throw new InvalidArgumentError({
        argument: 'gatherMs',
        value: gatherMs,
        message: 'must be a finite number of milliseconds >= 0',
      });
    }
    interface Waiting {
      reply: string;
      signal: AbortSignal;
      resolve: (score: number | null) => void;
      reject: (error: unknown) => void;
    }
    const gathering = new Map<
      unknown,
      { prompt: string; query: string; waiting: Waiting[]; timer: ReturnType<typeof setTimeout> }
    >();
    const flush = (key: unknown) => {
      const group = gathering.get(key);
      if (!group) return;
      gathering.delete(key);
      clearTimeout(group.timer);
      const { waiting } = group;
      const single = waiting.length === 1;
      this.request(
        {
          kind: single ? 'score' : 'group',
          prompt: group.prompt,
          query: group.query,
          candidates: waiting.map((entry) => entry.reply),
        },
        { signal: AbortSignal.any(waiting.map((entry) => entry.signal)) },
      ).then(
        (rating) => {
          waiting.forEach((entry, index) => {
            const answer = rating.answer;
            entry.resolve(
              answer === null
                ? null
                : Array.isArray(answer)
                  ? answer[index]!
                  : single
                    ? answer
                    : null,
            );
          });
        },
        (error: unknown) => {
          for (const entry of waiting) entry.reject(error);
        },
      );
    };
    return (context, askOptions) =>
      new Promise((resolve, reject) => {
        const key = context.scenario;
        let group = gathering.get(key);
        if (!group) {
          const system = context.messages.find((message) => message.role === 'system');
          const opening = context.messages.find((message) => message.role === 'user');
          group = {
            prompt: system?.content ?? '',
            query: opening?.content ?? '',
            waiting: [],
            timer: setTimeout(() => flush(key), gatherMs),
          };
          gathering.set(key, group);
        }
        group.waiting.push({
          reply: groupReply(context),
          signal: askOptions.signal,
          resolve,
          reject,
        });
        if (group.waiting.length >= groupSize) flush(key);
      });
  }

  /**
   * The reward of the candidate selector from a person: the K candidates of
   * the query are shown as a `choose` question, and a decision scores 1 when
   * the person picked the candidate the actor chose, 0 when they picked
   * another, null (skipped, not trained on) when they skipped. All the
   * decisions sampled for one query share the one question. With
   * `timeoutMs`, a question not answered in time is withdrawn from the page
   * and its decisions score null (a person who left does not stall the run).
   */
  candidateReward(options: { timeoutMs?: number } = {}): CandidateRewardSource {
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new InvalidArgumentError({
        argument: 'timeoutMs',
        value: timeoutMs,
        message: 'must be a finite number of milliseconds > 0',
      });
    }
    return async (input) => {
      const question = {
        kind: 'choose' as const,
        prompt: input.prompt,
        query: input.query,
        candidates: input.candidates,
      };
      let rating: FeedbackRating;
      if (timeoutMs === undefined) {
        rating = await this.request(question);
      } else {
        const signal = AbortSignal.timeout(timeoutMs);
        try {
          rating = await this.request(question, { signal });
        } catch (error) {
          if (signal.aborted) return null;
          throw error;
        }
      }
      if (rating.answer === null) return null;
      return rating.answer === input.chosenIndex ? 1 : 0;
    };
  }
}
