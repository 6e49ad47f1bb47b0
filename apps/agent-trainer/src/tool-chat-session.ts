import {
  type EndReason,
  type Environment,
  InvalidArgumentError,
  type Message,
  type Scenario,
  type StepResult,
  type Tokenizer,
  type ToolCallRecord,
} from '@cohort/core';
import { ToolEpisode } from '@cohort/environments';
import { ConversationTokens } from '@cohort/trainer';

/** What a person's tool chat stands at: the conversation, the tool calls, and at the end the task's check. */
export interface ToolChatState {
  scenarioId: string;
  /** The conversation, system prompt (with the tool instructions) first, tool results as `tool` messages. */
  messages: Message[];
  toolCalls: ToolCallRecord[];
  /** Token ids of the conversation so far, built as a rollout builds them. */
  tokenCount: number;
  done: boolean;
  /** Set once done: how the episode ended and what the task's `finish` says of it. */
  outcome?: {
    endReason: EndReason;
    /** The task's own verdict (`info.taskSuccess`, the support desk's database check); null when the task gives none. */
    solved: boolean | null;
    reward: number;
    info: Record<string, unknown>;
  };
}

/** Options of {@link startToolChatSession}. */
export interface ToolChatSessionOptions {
  /** A tool environment (its episodes are `ToolEpisode`s), as the run's config builds it. */
  environment: Environment<Scenario>;
  scenario: Scenario;
  seed: number;
  /** The run's (or checkpoint's) system prompt; undefined: the environment's own. */
  systemPrompt?: string;
  tokenizer: Tokenizer;
  /** Samples one agent turn's token ids for a prompt (the run's sampling settings, stopping at the end of the turn). */
  sample(prompt: number[]): Promise<number[]>;
  /** The run's `generation.maxNewTokens` and `maxSequenceLength`: the room a turn needs, as in rollouts. */
  maxNewTokens: number;
  maxSequenceLength: number;
}

/**
 * A person talks to a policy that has the environment's tools (the console's
 * chat on a tool run): the person plays the user of one episode of the run's
 * environment (`reset({ user: 'person' })`) on a scenario's simulated backend.
 *
 * Each agent turn is what a rollout does (`collectEpisodes`): the prompt is
 * the {@link ConversationTokens} of the conversation, so the sampled ids are
 * kept as sampled and only template ids come from the chat template; the
 * decoded text goes to the episode, which parses tool calls with the
 * environment's parser and runs them; their results are the next
 * observation and the agent speaks again, until it speaks to the person. A
 * turn that would not fit `maxSequenceLength` ends the episode with `length`,
 * where a rollout would. So the chat's token ids are the ids a rollout of the
 * same turns would hold. When the episode ends (the person closes it, or the
 * turn limit) the task's `finish` reports whether it would count as solved.
 *
 * @example
 * ```ts
 * const session = await startToolChatSession({ environment, scenario, seed: 1, tokenizer, sample, maxNewTokens: 48, maxSequenceLength: 512 });
 * await session.say('My order never came.');
 * const { outcome } = await session.close();
 * ```
 */
export async function startToolChatSession(
  options: ToolChatSessionOptions,
): Promise<ToolChatSession> {
  const episode = await options.environment.reset({
    scenario: options.scenario,
    seed: options.seed,
    ...(options.systemPrompt === undefined ? {} : { systemPrompt: options.systemPrompt }),
    user: 'person',
  } as Parameters<Environment<Scenario>['reset']>[0]);
  if (!(episode instanceof ToolEpisode)) {
    throw new InvalidArgumentError({
      argument: 'environment',
      value: options.environment.name,
      message: 'offers no tools (its episodes are not tool episodes); chat with tools needs one',
    });
  }
  const session = new ToolChatSession(episode, options);
  await session.agentTurns();
  return session;
}

/** One person's conversation with the policy and the tools; see {@link startToolChatSession}. */
export class ToolChatSession {
  private readonly tokens: ConversationTokens;
  private outcome: ToolChatState['outcome'];

  constructor(
    private readonly episode: ToolEpisode,
    private readonly options: ToolChatSessionOptions,
  ) {
    this.tokens = new ConversationTokens(options.tokenizer, episode.messages);
  }

  /** The conversation's token ids, as a rollout of the same turns holds them. */
  get tokenIds(): readonly number[] {
    return this.tokens.tokenIds;
  }

  /** 1 where the policy sampled the token. */
  get lossMask(): readonly (0 | 1)[] {
    return this.tokens.lossMask;
  }

  state(): ToolChatState {
    return {
      scenarioId: this.options.scenario.id,
      messages: [...this.episode.messages],
      toolCalls: [...this.episode.toolCalls],
      tokenCount: this.tokens.tokenIds.length,
      done: this.outcome !== undefined,
      ...(this.outcome === undefined ? {} : { outcome: this.outcome }),
    };
  }

  /** The person's next line; the agent answers (calling tools as it likes) until it speaks to the person. */
  async say(userMessage: string): Promise<ToolChatState> {
    if (this.outcome !== undefined) {
      throw new InvalidArgumentError({
        argument: 'message',
        value: userMessage,
        message: `the conversation has ended (${this.outcome.endReason}); start a new one`,
      });
    }
    this.episode.say(userMessage);
    const [start, end] = this.tokens.appendUserTurn(userMessage);
    if (!this.fits(end)) {
      this.tokens.truncate(start);
      await this.finish(await this.episode.close('length'));
      return this.state();
    }
    await this.agentTurns();
    return this.state();
  }

  /** Ends the conversation (the person leaves) and returns the task's verdict. */
  async close(): Promise<ToolChatState> {
    if (this.outcome === undefined) await this.finish(await this.episode.close());
    return this.state();
  }

  /** @internal Agent turns until the agent speaks to the person or the episode ends. */
  async agentTurns(): Promise<void> {
    for (;;) {
      if (!this.fits(this.tokens.tokenIds.length)) {
        // Only the opening prompt can get here, as in rollouts: later turns are checked when appended.
        this.tokens.truncate(this.options.maxSequenceLength);
        await this.finish(await this.episode.close('length'));
        return;
      }
      const sampled = await this.options.sample(this.tokens.prompt());
      const text = this.options.tokenizer.decode(sampled, { skipSpecialTokens: true }).trim();
      this.tokens.appendAgentTurn({
        sampledTokenIds: sampled,
        // The chat keeps no behaviour log-probs; they only weight a learner's update.
        logProbsPerToken: sampled.map(() => 0),
        text,
      });
      const result = await this.episode.step(text);
      if (result.done) {
        await this.finish(result);
        return;
      }
      if (result.toolMessages === undefined || result.toolMessages.length === 0) return;
      const [start, end] = this.tokens.appendObservation(result.toolMessages);
      if (!this.fits(end)) {
        this.tokens.truncate(start);
        await this.finish(await this.episode.close('length'));
        return;
      }
    }
  }

  /** Whether a next agent turn of `maxNewTokens` and the template ids after it fit after `length` ids. */
  private fits(length: number): boolean {
    return (
      length + this.options.maxNewTokens + this.tokens.closingLength() <=
      this.options.maxSequenceLength
    );
  }

  private async finish(result: StepResult): Promise<void> {
    const info = result.info ?? {};
    this.outcome = {
      endReason: result.endReason ?? 'give-up',
      solved: typeof info.taskSuccess === 'boolean' ? info.taskSuccess : null,
      reward: result.reward,
      info,
    };
  }
}
