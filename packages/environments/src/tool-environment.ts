import {
  type EndReason,
  type Environment,
  type Episode,
  InvalidArgumentError,
  type Message,
  parseWithSchema,
  Random,
  type StepResult,
  type ToolCallErrorKind,
  type ToolCallFormat,
  type ToolCallRecord,
} from '@cohort/core';
import { EpisodeDoneError } from './episode-done-error';
import { parseToolCalls } from './tool-call-parser';
import {
  type ToolEnvironmentOptions,
  type ToolEnvironmentOptionsInput,
  ToolEnvironmentOptionsSchema,
  type ToolTask,
  type ToolTaskReply,
} from './tool-environment-options';
import { toolInstructions } from './tool-prompt';
import { runToolCalls } from './tool-runner';

function errorCounts(
  records: readonly ToolCallRecord[],
): Partial<Record<ToolCallErrorKind, number>> {
  const counts: Partial<Record<ToolCallErrorKind, number>> = {};
  for (const record of records) {
    if (record.error) counts[record.error.kind] = (counts[record.error.kind] ?? 0) + 1;
  }
  return counts;
}

/** Who plays the user of a tool episode: the task's own (scripted) user, or a person (the console's chat). */
export type ToolEpisodeUser = 'task' | 'person';

/**
 * One episode of a {@link ToolEnvironment}. An agent message that calls tools
 * gets their results as `tool` messages and the agent speaks again; one that
 * calls none goes to the task's user.
 */
export class ToolEpisode implements Episode {
  private readonly conversation: Message[];
  private readonly records: ToolCallRecord[] = [];
  private agentTurns = 0;
  private finished = false;
  private reason: EndReason | undefined;
  private finalInfo: Record<string, unknown> | undefined;
  private awaitingPerson = false;

  constructor(
    private readonly task: ToolTask,
    systemPrompt: string,
    private readonly options: {
      name: string;
      format: ToolCallFormat;
      toolTimeoutMs: number;
      maxAgentTurns: number;
      /** `person`: a person plays the user, through {@link ToolEpisode.say}; the task's `respond` is not asked. */
      user?: ToolEpisodeUser;
    },
  ) {
    this.conversation = [
      { role: 'system', content: systemPrompt },
      { role: 'user', content: task.openingMessage },
    ];
  }

  get messages(): readonly Message[] {
    return this.conversation;
  }

  /** Every tool call so far, in order. */
  get toolCalls(): readonly ToolCallRecord[] {
    return this.records;
  }

  get done(): boolean {
    return this.finished;
  }

  get endReason(): EndReason | undefined {
    return this.reason;
  }

  /** What the task's `finish` reported, once the episode is over. */
  get finishInfo(): Record<string, unknown> | undefined {
    return this.finalInfo;
  }

  /** True when a person plays the user and the agent has spoken to them: {@link say} comes next. */
  get awaitingUser(): boolean {
    return this.awaitingPerson;
  }

  async step(agentMessage: string): Promise<StepResult> {
    if (this.finished) {
      throw new EpisodeDoneError({ environment: this.options.name, endReason: this.reason });
    }
    if (this.awaitingPerson) {
      throw new InvalidArgumentError({
        argument: 'agentMessage',
        value: agentMessage,
        message: 'the agent has spoken to the person; the person says something first (say)',
      });
    }
    if (typeof agentMessage !== 'string') {
      throw new InvalidArgumentError({
        argument: 'agentMessage',
        value: agentMessage,
        message: 'must be a string',
      });
    }
    const turnIndex = this.agentTurns;
    this.agentTurns += 1;
    this.conversation.push({ role: 'assistant', content: agentMessage });
    const parsed = parseToolCalls(agentMessage, this.options.format);
    const atLimit = this.agentTurns >= this.options.maxAgentTurns;

    if (parsed.attempts.length > 0) {
      const outcome = await runToolCalls({
        tools: this.task.tools,
        attempts: parsed.attempts,
        timeoutMs: this.options.toolTimeoutMs,
        turnIndex,
      });
      this.records.push(...outcome.records);
      const info = { agentTurns: this.agentTurns, toolErrors: errorCounts(outcome.records) };
      if (atLimit) {
        return { ...(await this.end('turn-limit', 0, info)), toolCalls: outcome.records };
      }
      this.conversation.push(...outcome.messages);
      return {
        reward: 0,
        done: false,
        toolMessages: outcome.messages,
        toolCalls: outcome.records,
        info,
      };
    }

    if (this.options.user === 'person') {
      const info = { agentTurns: this.agentTurns };
      if (atLimit) return this.end('turn-limit', 0, info);
      this.awaitingPerson = true;
      return { reward: 0, done: false, info };
    }

    let reply: ToolTaskReply;
    try {
      reply = await this.task.respond({ agentMessage, messages: this.conversation });
    } catch (error) {
      this.finished = true;
      this.reason = 'error';
      throw error;
    }
    const info = { agentTurns: this.agentTurns, ...reply.info };
    const reward = reply.reward ?? 0;
    if (reply.done || reply.userMessage === undefined) {
      return this.end(reply.endReason ?? 'give-up', reward, info);
    }
    if (atLimit) return this.end('turn-limit', reward, info);
    this.conversation.push({ role: 'user', content: reply.userMessage });
    return { userMessage: reply.userMessage, reward, done: false, info };
  }

  /**
   * The person's next line, in an episode where a person plays the user
   * (`reset({ user: 'person' })`): allowed only after an agent message that
   * called no tools.
   */
  say(userMessage: string): void {
    if (this.finished) {
      throw new EpisodeDoneError({ environment: this.options.name, endReason: this.reason });
    }
    if (this.options.user !== 'person' || !this.awaitingPerson) {
      throw new InvalidArgumentError({
        argument: 'userMessage',
        value: userMessage,
        message:
          this.options.user === 'person'
            ? 'the agent has not spoken to the person yet'
            : "the task's user speaks in this episode; reset with user: 'person' to speak yourself",
      });
    }
    if (typeof userMessage !== 'string') {
      throw new InvalidArgumentError({
        argument: 'userMessage',
        value: userMessage,
        message: 'must be a string',
      });
    }
    this.conversation.push({ role: 'user', content: userMessage });
    this.awaitingPerson = false;
  }

  /**
   * Ends the episode where it stands, as a user who leaves would (`give-up`
   * unless given another reason), and returns what the task's `finish`
   * reports on it: the support desk's database check says whether the task
   * would count as solved.
   */
  async close(reason: EndReason = 'give-up'): Promise<StepResult> {
    if (this.finished) {
      throw new EpisodeDoneError({ environment: this.options.name, endReason: this.reason });
    }
    this.awaitingPerson = false;
    return this.end(reason, 0, { agentTurns: this.agentTurns });
  }

  private async end(
    reason: EndReason,
    reward: number,
    info: Record<string, unknown>,
  ): Promise<StepResult> {
    this.finished = true;
    this.reason = reason;
    const final = (await this.task.finish?.({
      messages: this.conversation,
      endReason: reason,
      toolCalls: this.records,
    })) ?? { reward: 0 };
    this.finalInfo = final.info;
    return {
      reward: reward + final.reward,
      done: true,
      endReason: reason,
      info: { ...info, ...final.info },
    };
  }
}

/**
 * An environment whose agent calls tools: the generic loop under every tool
 * task (the support backend, a user's own tools, tools of an MCP server).
 *
 * `reset` asks `createTask` for the episode's task, appends the format's
 * {@link toolInstructions} to its system prompt, and opens with its first
 * user message. On each `step`, the agent's text is parsed for tool calls in
 * the environment's `format`:
 * - with calls, they run (see {@link runToolCalls}: every bad call becomes an
 *   error message and a record, never a throw); the step returns their
 *   results as `toolMessages` with the `toolCalls` records, and the agent
 *   speaks next;
 * - without, the task's `respond` gives the user's line or ends the episode.
 * Every agent message counts toward `maxAgentTurns`. When the episode ends,
 * the task's `finish` adds its reward to the last step and its info to `info`.
 *
 * @example
 * ```ts
 * const environment = createToolEnvironment({
 *   name: 'calculator',
 *   createTask: ({ scenario }) => ({
 *     systemPrompt: 'Answer with the help of the tools.',
 *     openingMessage: scenario.question,
 *     tools: [add],
 *     respond: ({ agentMessage }) => ({ done: true, endReason: agentMessage.includes(scenario.answer) ? 'success' : 'give-up' }),
 *   }),
 * });
 * ```
 */
export class ToolEnvironment<ScenarioType = unknown> implements Environment<ScenarioType> {
  readonly name: string;
  readonly options: ToolEnvironmentOptions<ScenarioType>;

  constructor(options: ToolEnvironmentOptionsInput<ScenarioType>) {
    this.options = parseWithSchema(
      ToolEnvironmentOptionsSchema,
      options,
      'tool environment options',
    ) as ToolEnvironmentOptions<ScenarioType>;
    this.name = this.options.name;
  }

  async reset(options: {
    scenario: ScenarioType;
    seed: number;
    systemPrompt?: string;
    /** Who plays the user: the task (default) or a person, through `ToolEpisode.say`. */
    user?: ToolEpisodeUser;
  }): Promise<ToolEpisode> {
    if (options.user !== undefined && options.user !== 'task' && options.user !== 'person') {
      throw new InvalidArgumentError({
        argument: 'user',
        value: options.user,
        message: "must be 'task' or 'person'",
      });
    }
    if (typeof options.seed !== 'number' || !Number.isFinite(options.seed)) {
      throw new InvalidArgumentError({
        argument: 'seed',
        value: options.seed,
        message: 'must be a finite number',
      });
    }
    const task = await this.options.createTask({
      scenario: options.scenario,
      seed: options.seed,
      random: new Random(options.seed),
      ...(options.systemPrompt === undefined ? {} : { systemPrompt: options.systemPrompt }),
    });
    const names = task.tools.map((tool) => tool.name);
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate !== undefined) {
      throw new InvalidArgumentError({
        argument: 'task.tools',
        value: names,
        message: `two tools are named "${duplicate}"; tool names must be unique`,
      });
    }
    const instructions = toolInstructions(task.tools, this.options.format, this.options.toolPrompt);
    return new ToolEpisode(task, `${task.systemPrompt}\n\n${instructions}`, {
      ...this.options,
      ...(options.user === undefined ? {} : { user: options.user }),
    });
  }
}

/** Creates a {@link ToolEnvironment}. */
export function createToolEnvironment<ScenarioType>(
  options: ToolEnvironmentOptionsInput<ScenarioType>,
): ToolEnvironment<ScenarioType> {
  return new ToolEnvironment(options);
}
