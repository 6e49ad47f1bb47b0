import type { Message, Tokenizer, Trajectory, Turn } from '@cohort/core';
import { ConversationTokens } from '@cohort/trainer';

/** One call of the policy that the gateway answered within an episode. */
export interface RecordedCall {
  /** The completion id returned to the agent (`chatcmpl-...`), one per choice. */
  callId: string;
  policyVersion: number;
  /** `[start, end)` of the sampled ids in the segment's token ids. */
  completionStart: number;
  completionEnd: number;
  finishReason: 'stop' | 'length' | 'tool_calls';
  /** Reward posted for this call alone, if any. */
  reward: number | null;
}

/** What the agent saw of an assistant message: how the next call must repeat it to continue a segment. */
export interface AssistantEcho {
  content: string;
  toolCalls: { name: string; arguments: unknown }[];
}

/**
 * A run of calls whose messages extend one another: one token sequence with
 * the sampled ids exactly as sampled and the template's tokens between them.
 */
export interface Segment {
  index: number;
  tokens: ConversationTokens;
  /** The messages as rendered by the template (assistant messages as the raw sampled text). */
  messages: Message[];
  /** For each assistant message of `messages`, what the agent was shown. */
  echoes: Map<number, AssistantEcho>;
  calls: RecordedCall[];
  turns: Turn[];
}

/** Everything recorded for one episode id. */
export interface Episode {
  episodeId: string;
  segments: Segment[];
  /** The episode's reward once posted. */
  reward: number | null;
  /** Whether the task succeeded, when the scorer says so. */
  success: boolean | null;
  createdAt: number;
  lastActivityAt: number;
}

/** How the next call continues the episode. */
export interface CallPlacement {
  segment: Segment;
  /** True when the call extends a segment recorded before (false: a new segment). */
  continued: boolean;
}

/**
 * Records the episodes that an agent program produces through the gateway.
 *
 * A call continues a segment when its messages start with exactly the
 * segment's messages (assistant messages compared by what the agent was
 * shown: content and tool calls) and add one user message or tool results.
 * The continuation's tokens are the recorded ids plus the template's tokens
 * for the new messages, so the ids that the policy sampled are never
 * re-tokenized. Any other call starts a new segment: the gateway never
 * guesses an alignment.
 */
export class EpisodeRecorder {
  readonly episodes = new Map<string, Episode>();

  constructor(private readonly tokenizer: Tokenizer) {}

  /** Finds or makes the segment that a call with `messages` (the agent's whole history) extends. */
  place(
    episodeId: string,
    messages: readonly Message[],
    echoes: readonly (AssistantEcho | null)[],
  ): CallPlacement {
    const episode = this.episode(episodeId);
    episode.lastActivityAt = Date.now();
    for (const segment of episode.segments) {
      const extension = this.extension(segment, messages, echoes);
      if (extension === null) continue;
      const [start, end] = segment.tokens.appendObservation(extension);
      const role = extension[0]!.role;
      segment.turns.push({
        role: role === 'tool' ? 'tool' : 'user',
        content: extension.map((message) => message.content).join('\n'),
        tokenStart: start,
        tokenEnd: end,
        reward: null,
      });
      segment.messages.push(...extension);
      return { segment, continued: true };
    }
    const tokens = new ConversationTokens(this.tokenizer, messages);
    const turns: Turn[] = [];
    let cursor = 0;
    for (let index = 0; index < messages.length; index++) {
      const rendered = this.tokenizer.applyChatTemplate(messages.slice(0, index + 1), {
        addGenerationPrompt: false,
      }).length;
      turns.push({ ...messages[index]!, tokenStart: cursor, tokenEnd: rendered, reward: null });
      cursor = rendered;
    }
    const segment: Segment = {
      index: episode.segments.length,
      tokens,
      messages: [...messages],
      echoes: new Map(),
      calls: [],
      turns,
    };
    episode.segments.push(segment);
    return { segment, continued: false };
  }

  /** A copy of `segment` as a new segment of the same episode: one branch per extra choice of an `n > 1` call. */
  branch(episodeId: string, segment: Segment): Segment {
    const episode = this.episode(episodeId);
    const copy: Segment = {
      index: episode.segments.length,
      tokens: segment.tokens.clone(),
      messages: [...segment.messages],
      echoes: new Map(segment.echoes),
      calls: [...segment.calls],
      turns: [...segment.turns],
    };
    episode.segments.push(copy);
    return copy;
  }

  /** Appends the sampled completion of a call to its segment. */
  recordCompletion(options: {
    segment: Segment;
    callId: string;
    policyVersion: number;
    tokenIds: readonly number[];
    logProbsPerToken: readonly number[];
    rawText: string;
    echo: AssistantEcho;
    finishReason: RecordedCall['finishReason'];
  }): void {
    const { segment } = options;
    const [start, end] = segment.tokens.appendAgentTurn({
      sampledTokenIds: options.tokenIds,
      logProbsPerToken: options.logProbsPerToken,
      text: options.rawText,
    });
    segment.echoes.set(segment.messages.length, options.echo);
    segment.messages.push({ role: 'assistant', content: options.rawText });
    segment.turns.push({
      role: 'assistant',
      content: options.rawText,
      tokenStart: start,
      tokenEnd: end,
      reward: null,
      finishReason: options.finishReason === 'length' ? 'length' : 'eos',
    });
    segment.calls.push({
      callId: options.callId,
      policyVersion: options.policyVersion,
      completionStart: start,
      completionEnd: end,
      finishReason: options.finishReason,
      reward: null,
    });
  }

  /** The record of `episodeId`, made on first use. */
  episode(episodeId: string): Episode {
    let episode = this.episodes.get(episodeId);
    if (episode === undefined) {
      const now = Date.now();
      episode = {
        episodeId,
        segments: [],
        reward: null,
        success: null,
        createdAt: now,
        lastActivityAt: now,
      };
      this.episodes.set(episodeId, episode);
    }
    return episode;
  }

  private extension(
    segment: Segment,
    messages: readonly Message[],
    echoes: readonly (AssistantEcho | null)[],
  ): Message[] | null {
    const recorded = segment.messages;
    if (recorded.at(-1)?.role !== 'assistant' || messages.length <= recorded.length) return null;
    for (let index = 0; index < recorded.length; index++) {
      const mine = recorded[index]!;
      const theirs = messages[index]!;
      if (mine.role !== theirs.role) return null;
      if (mine.role === 'assistant') {
        const echo = segment.echoes.get(index);
        const agentSide = echoes[index];
        if (
          echo === undefined
            ? mine.content !== theirs.content
            : agentSide == null || !sameEcho(echo, agentSide)
        )
          return null;
      } else if (mine.content !== theirs.content) {
        return null;
      }
    }
    const added = messages.slice(recorded.length);
    const roles = added.map((message) => message.role);
    const observation =
      roles.every((role) => role === 'tool') || (roles.length === 1 && roles[0] === 'user');
    return observation ? added : null;
  }
}

function sameEcho(recorded: AssistantEcho, sent: AssistantEcho): boolean {
  if (recorded.content.trim() !== sent.content.trim()) return false;
  if (recorded.toolCalls.length !== sent.toolCalls.length) return false;
  return recorded.toolCalls.every(
    (call, index) =>
      call.name === sent.toolCalls[index]!.name &&
      JSON.stringify(sortKeys(call.arguments)) ===
        JSON.stringify(sortKeys(sent.toolCalls[index]!.arguments)),
  );
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, entry]) => [key, sortKeys(entry)]),
    );
  }
  return value;
}

/**
 * The trajectories of an episode whose reward is posted: one per segment, each
 * with the episode's reward (and per-call rewards on their turns), ready for
 * any estimator and objective.
 */
export function episodeTrajectories(options: {
  episode: Episode;
  scenarioId: string;
  seed: number;
  temperature: number;
}): Trajectory[] {
  const { episode } = options;
  const reward = episode.reward ?? 0;
  return episode.segments
    .filter((segment) => segment.calls.length > 0)
    .map((segment) => {
      const callRewards = segment.calls.map((call) => call.reward ?? 0);
      let agentTurn = 0;
      const turns = segment.turns.map((turn) =>
        turn.role === 'assistant'
          ? { ...turn, reward: segment.calls[agentTurn++]?.reward ?? null }
          : turn,
      );
      const versions = segment.calls.map((call) => call.policyVersion);
      return {
        id: `${episode.episodeId}-${segment.index}`,
        scenarioId: options.scenarioId,
        seed: options.seed,
        policyVersion: Math.min(...versions),
        messages: segment.messages,
        turns,
        tokenIds: [...segment.tokens.tokenIds],
        lossMask: [...segment.tokens.lossMask],
        behaviorLogProbs: [...segment.tokens.behaviorLogProbs],
        rewardsPerTurn: callRewards,
        rewardsByFunction: { episode: episode.reward },
        totalReward: reward + callRewards.reduce((sum, value) => sum + value, 0),
        endReason:
          episode.success === true
            ? 'success'
            : segment.calls.at(-1)?.finishReason === 'length'
              ? 'length'
              : 'external',
        truncated: segment.calls.some((call) => call.finishReason === 'length'),
        temperature: options.temperature,
      } satisfies Trajectory;
    });
}
