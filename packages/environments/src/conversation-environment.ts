import {
  type EndReason,
  type Environment,
  type Episode,
  InvalidArgumentError,
  type Message,
  parseWithSchema,
  Random,
  type Scenario,
  type ScenarioInput,
  ScenarioSchema,
  type StepResult,
  type UserSimulator,
} from '@cohort/core';
import {
  type ConversationEnvironmentOptions,
  type ConversationEnvironmentOptionsInput,
  ConversationEnvironmentOptionsSchema,
} from './conversation-environment-options';
import { EpisodeDoneError } from './episode-done-error';
import { ScriptedUserSimulator } from './scripted-user-simulator';
import { assertValidCriteriaPatterns, evaluateSuccessCriteria } from './success-criteria';

/**
 * One conversation of a {@link ConversationEnvironment}. Beyond the
 * {@link Episode} protocol it tells whether it is over and how far the agent got.
 */
export class ConversationEpisode implements Episode {
  private readonly conversation: Message[];
  private metIds = new Set<string>();
  private agentTurns = 0;
  private finished = false;
  private reason: EndReason | undefined;
  private closing: string | undefined;

  constructor(
    readonly scenario: Scenario,
    systemPrompt: string,
    openingMessage: string,
    private readonly random: Random,
    private readonly userSimulator: UserSimulator<Scenario>,
    private readonly options: ConversationEnvironmentOptions,
  ) {
    this.conversation = [
      { role: 'system', content: systemPrompt },
      { role: 'user', content: openingMessage },
    ];
  }

  get messages(): readonly Message[] {
    return this.conversation;
  }

  /** True once the episode has ended. */
  get done(): boolean {
    return this.finished;
  }

  /** How the episode ended, once `done`. */
  get endReason(): EndReason | undefined {
    return this.reason;
  }

  /** The user's last line (thanks or give-up) when the episode ended on the user's move. */
  get closingMessage(): string | undefined {
    return this.closing;
  }

  /** Weighted fraction of the success criteria met so far. */
  get completion(): number {
    return evaluateSuccessCriteria(this.scenario, this.agentMessages()).completion;
  }

  async step(agentMessage: string): Promise<StepResult> {
    if (this.finished) {
      throw new EpisodeDoneError({ environment: this.options.name, endReason: this.reason });
    }
    if (typeof agentMessage !== 'string') {
      throw new InvalidArgumentError({
        argument: 'agentMessage',
        value: agentMessage,
        message: 'must be a string',
      });
    }
    this.conversation.push({ role: 'assistant', content: agentMessage });
    this.agentTurns += 1;
    const criteria = evaluateSuccessCriteria(this.scenario, this.agentMessages());
    const newlyMetIds = criteria.metIds.filter((id) => !this.metIds.has(id));
    this.metIds = new Set(criteria.metIds);
    const reward = this.turnReward(criteria.criteria, newlyMetIds);

    let reply: Awaited<ReturnType<UserSimulator<Scenario>['respond']>>;
    try {
      reply = await this.userSimulator.respond({
        scenario: this.scenario,
        messages: this.conversation.slice(1),
        random: this.random,
      });
    } catch (error) {
      this.finish('error');
      throw error;
    }

    const info: Record<string, unknown> = {
      agentTurns: this.agentTurns,
      metIds: criteria.metIds,
      newlyMetIds,
      completion: criteria.completion,
    };
    if (criteria.allMet) {
      this.finish('success', reply.message);
    } else if (reply.done) {
      this.finish(reply.endReason ?? 'give-up', reply.message);
    } else if (this.agentTurns >= this.scenario.maxTurns) {
      this.finish('turn-limit');
    } else {
      this.conversation.push({ role: 'user', content: reply.message });
      return { userMessage: reply.message, reward, done: false, info };
    }
    if (this.closing !== undefined) info.closingMessage = this.closing;
    return { reward, done: true, endReason: this.reason!, info };
  }

  private finish(reason: EndReason, closing?: string): void {
    this.finished = true;
    this.reason = reason;
    this.closing = closing;
  }

  private agentMessages(): string[] {
    return this.conversation
      .filter((message) => message.role === 'assistant')
      .map((message) => message.content);
  }

  private turnReward(criteria: { id: string; weight: number }[], newlyMetIds: string[]): number {
    if (this.options.turnReward === 'none') return 0;
    const total = criteria.reduce((sum, criterion) => sum + criterion.weight, 0);
    const gained = criteria
      .filter((criterion) => newlyMetIds.includes(criterion.id))
      .reduce((sum, criterion) => sum + criterion.weight, 0);
    return total > 0 ? gained / total : 0;
  }
}

/**
 * A multi-turn conversation environment driven by {@link Scenario}s.
 *
 * `reset` validates the scenario with `ScenarioSchema` (a `ValidationError`
 * names each bad field), builds `[system, user opening]` and seeds the user
 * simulator's random stream with `seed`. Each `step(agentMessage)` appends the
 * agent's message, checks the success criteria against all the agent's
 * messages so far, and asks the user simulator for the next user turn (the
 * simulator sees the conversation without the system prompt). The episode
 * ends, in this order of precedence, on:
 * - `success`: every criterion is met (the user's thanks is the closing message);
 * - the simulator ending the conversation (`give-up` unless it names another reason);
 * - `turn-limit`: the agent has had `scenario.maxTurns` turns.
 * When the episode ends, `userMessage` is absent; the user's closing line, if
 * any, is in `info.closingMessage` and `episode.closingMessage`. Per-turn
 * reward is 0 unless `turnReward: 'criteria-progress'` (see the options).
 *
 * @example
 * ```ts
 * const environment = createConversationEnvironment({ turnReward: 'criteria-progress' });
 * const episode = await environment.reset({ scenario, seed: 7 });
 * const result = await episode.step('I have refunded order A1042; expect it within 5 business days.');
 * result.done; result.endReason; // true, 'success' when that meets every criterion
 * ```
 */
export class ConversationEnvironment implements Environment<Scenario> {
  readonly name: string;
  readonly options: ConversationEnvironmentOptions;
  private readonly userSimulator: UserSimulator<Scenario>;

  constructor(options: ConversationEnvironmentOptionsInput = {}) {
    this.options = parseWithSchema(
      ConversationEnvironmentOptionsSchema,
      options,
      'conversation environment options',
    );
    this.name = this.options.name;
    this.userSimulator = this.options.userSimulator ?? new ScriptedUserSimulator();
  }

  /** The system prompt an episode of `scenario` starts with. */
  systemPromptFor(scenario: Scenario, systemPrompt?: string): string {
    const base = systemPrompt ?? this.options.systemPrompt;
    if (!this.options.includeContext || scenario.context.trim() === '') return base;
    return `${base}\n\nContext: ${scenario.context}`;
  }

  /** Starts an episode; `scenario` may omit the schema's defaults (it is parsed here). */
  async reset(options: {
    scenario: Scenario | ScenarioInput;
    seed: number;
    systemPrompt?: string;
  }): Promise<ConversationEpisode> {
    const scenario = parseWithSchema(ScenarioSchema, options?.scenario, 'scenario');
    assertValidCriteriaPatterns(scenario);
    if (typeof options.seed !== 'number' || !Number.isFinite(options.seed)) {
      throw new InvalidArgumentError({
        argument: 'seed',
        value: options.seed,
        message: 'must be a finite number',
      });
    }
    if (options.systemPrompt !== undefined && typeof options.systemPrompt !== 'string') {
      throw new InvalidArgumentError({
        argument: 'systemPrompt',
        value: options.systemPrompt,
        message: 'must be a string',
      });
    }
    const random = new Random(options.seed);
    const opening = await this.userSimulator.respond({ scenario, messages: [], random });
    return new ConversationEpisode(
      scenario,
      this.systemPromptFor(scenario, options.systemPrompt),
      opening.message,
      random,
      this.userSimulator,
      this.options,
    );
  }
}

/** Creates a {@link ConversationEnvironment}. */
export function createConversationEnvironment(
  options: ConversationEnvironmentOptionsInput = {},
): ConversationEnvironment {
  return new ConversationEnvironment(options);
}
