import { type Environment, type Message, parseWithSchema } from '@cohort/core';
import { checkSupportDeskEpisode } from './support-desk-check';
import { SupportDeskBackend, supportDeskTools } from './support-desk-database';
import {
  type SupportDeskEnvironmentOptions,
  type SupportDeskEnvironmentOptionsInput,
  SupportDeskEnvironmentOptionsSchema,
} from './support-desk-environment-options';
import {
  type SupportDeskTask,
  SupportDeskTaskSchema,
  supportDeskSystemPrompt,
} from './support-desk-tasks';
import { supportDeskUserReply } from './support-desk-user';
import { ToolEnvironment, type ToolEpisode, type ToolEpisodeUser } from './tool-environment';

/**
 * The support desk: a tool environment on a simulated store backend, where
 * success is checked by code on the final database, as in tau-bench's retail
 * domain.
 *
 * Each episode gets a private copy of its task's database and the six tools
 * over it (find_customer, get_order, refund, cancel, exchange, escalate); the
 * system prompt states the store's policy; the scripted customer tells what
 * the agent asks for ({@link supportDeskUserReply}), or the `user` option
 * answers (an LLM customer, `createSupportDeskLlmUser`), drawing its
 * sampling seed from the episode's random stream. When the episode ends,
 * {@link checkSupportDeskEpisode} decides success (the end reason is
 * `success` when the customer leaves with the task done, else `give-up` or
 * `turn-limit`) and the reward terms, and
 * the last step's `info.supportDesk` holds the whole check (success, wrong
 * actions, invented order ids, facts told): the numbers a report shows.
 *
 * @example
 * ```ts
 * const environment = createSupportDeskEnvironment({ rewards: { success: 1, wrongAction: 0.5 } });
 * const episode = await environment.reset({ scenario: supportDeskTasks({ split: 'train' })[0]!, seed: 1 });
 * await episode.step(supportDeskReferenceReply(episode.messages));
 * ```
 */
export class SupportDeskEnvironment implements Environment<SupportDeskTask> {
  readonly name: string;
  readonly options: SupportDeskEnvironmentOptions;
  private readonly tools: ToolEnvironment<SupportDeskTask>;

  constructor(options: SupportDeskEnvironmentOptionsInput = {}) {
    this.options = parseWithSchema(
      SupportDeskEnvironmentOptionsSchema,
      options,
      'support desk environment options',
    );
    this.name = this.options.name;
    const { format, rewards, patience, user } = this.options;
    this.tools = new ToolEnvironment<SupportDeskTask>({
      name: this.options.name,
      format,
      toolPrompt: this.options.toolPrompt,
      toolTimeoutMs: this.options.toolTimeoutMs,
      maxAgentTurns: this.options.maxAgentTurns,
      createTask: ({ scenario, systemPrompt, random }) => {
        const task = scenario;
        const backend = new SupportDeskBackend(task.database);
        let asked = 0;
        const check = (messages: readonly Message[]) =>
          checkSupportDeskEpisode({
            task,
            database: backend.database,
            actions: backend.actions,
            messages,
            format,
          });
        return {
          systemPrompt:
            systemPrompt ??
            supportDeskSystemPrompt(
              task,
              this.options.toolPrompt === 'signatures' ? 'short' : 'full',
            ),
          openingMessage: task.user.opening,
          tools: supportDeskTools(backend),
          respond: async ({ agentMessage, messages }) => {
            const reply =
              user === undefined
                ? supportDeskUserReply(task, agentMessage, asked, patience)
                : await user.reply({
                    task,
                    agentMessage,
                    messages,
                    askedBefore: asked,
                    patience,
                    seed: random.seed(),
                  });
            if (!reply.done) {
              asked += 1;
              return { userMessage: reply.message, done: false };
            }
            return {
              done: true,
              endReason: check(messages).success ? 'success' : 'give-up',
              info: { closingMessage: reply.message },
            };
          },
          finish: ({ messages }) => {
            const result = check(messages);
            const reward =
              (result.success ? rewards.success : 0) +
              result.partialCredit * rewards.partialCredit -
              result.wrongActions.length * rewards.wrongAction -
              result.inventedOrderIds.length * rewards.inventedOrderId;
            return { reward, info: { supportDesk: result, taskSuccess: result.success } };
          },
        };
      },
    });
  }

  /** Starts an episode of `scenario` (validated with `SupportDeskTaskSchema`). */
  async reset(options: {
    scenario: SupportDeskTask;
    seed: number;
    systemPrompt?: string;
    /** Who plays the customer: the scripted one (default) or a person, through `ToolEpisode.say`. */
    user?: ToolEpisodeUser;
  }): Promise<ToolEpisode> {
    const scenario = parseWithSchema(SupportDeskTaskSchema, options?.scenario, 'support desk task');
    return this.tools.reset({ ...options, scenario });
  }
}

/** Creates a {@link SupportDeskEnvironment}. */
export function createSupportDeskEnvironment(
  options: SupportDeskEnvironmentOptionsInput = {},
): SupportDeskEnvironment {
  return new SupportDeskEnvironment(options);
}
