import { randomInt, randomUUID } from 'node:crypto';
import type {
  ConsoleChat,
  ConsoleToolChatState,
  ConsoleToolRequest,
  ConsoleToolScenario,
} from '@cohort/console';
import { InvalidArgumentError, type Message, type Scenario } from '@cohort/core';
import {
  defaultSupportSystemPrompt,
  type SupportDeskTask,
  supportDeskTaskKinds,
  supportDeskTasks,
} from '@cohort/environments';
import { initializeBackend } from '@cohort/tfjs';
import type { AppConfig } from './app-config';
import type { ChatModel } from './chat-model';
import { replyTo } from './chat-reply';
import { loadModelSource } from './commands/model-source';
import { readRunConfig } from './run-config';
import { startToolChatSession, type ToolChatSession } from './tool-chat-session';
import { createEnvironmentSetup, type EnvironmentSetup } from './training-setup';

/** Chats with tools kept at once; starting one more drops the oldest. */
const maximumToolSessions = 16;

/**
 * The console's chat with a run's checkpoints: the run's base model with the
 * checkpoint's weights and system prompt (as `agent-trainer chat --run-dir`
 * loads them), greedy by default so a checkpoint answers the same messages
 * the same way. The last model loaded is kept (one at a time, to bound
 * memory); requests run one after another.
 *
 * On a run of the support desk (the built-in environment with tools) the
 * chat runs with its tools: the person plays the customer of a scenario
 * (one of the run's training tasks, or a fresh task from the same
 * generator), each turn is built as rollouts build it (see
 * {@link startToolChatSession}) with the run's `generation.maxNewTokens` and
 * `maxSequenceLength`, and closing it shows the database check. A run whose
 * environment is a user's module offers no tools here: the console runs no
 * code from run folders.
 *
 * @example
 * ```ts
 * const server = await createConsoleServer({ runDirectories: ['runs'], chat: createConsoleChat({ maxNewTokens: 64 }) });
 * ```
 */
export function createConsoleChat(options: {
  maxNewTokens: number;
  temperature?: number;
  /**
   * Loads the model of a run's checkpoint (default `loadModelSource`, the
   * run's base model with the checkpoint's weights). Tests put a scripted
   * agent here to drive the chat with tools through a page.
   */
  loadModel?: (
    runDirectory: string,
    checkpoint: string | null,
  ) => Promise<ChatModel & { systemPrompt?: string }>;
}): ConsoleChat & { dispose(): void } {
  const loadModel =
    options.loadModel ??
    (async (runDirectory: string, checkpoint: string | null) => {
      await initializeBackend({ logger: false });
      return loadModelSource({ runDirectory, checkpoint, command: 'console chat' });
    });
  const temperature = options.temperature ?? 0;
  let loaded: { key: string; source: ChatModel & { systemPrompt?: string } } | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const load = async (runDirectory: string, checkpoint: string | null) => {
    const key = `${runDirectory}\n${checkpoint ?? ''}`;
    if (loaded?.key === key) return loaded.source;
    loaded?.source.dispose();
    loaded = undefined;
    const source = await loadModel(runDirectory, checkpoint);
    loaded = { key, source };
    return source;
  };
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const answer = queue.then(work);
    queue = answer.catch(() => undefined);
    return answer;
  };

  const configs = new Map<string, Promise<AppConfig>>();
  const configOf = (runDirectory: string) => {
    let config = configs.get(runDirectory);
    if (config === undefined) {
      config = readRunConfig(runDirectory);
      configs.set(runDirectory, config);
      config.catch(() => configs.delete(runDirectory));
    }
    return config;
  };
  const setups = new Map<string, Promise<EnvironmentSetup>>();
  const setupOf = async (runDirectory: string) => {
    const config = await configOf(runDirectory);
    let setup = setups.get(runDirectory);
    if (setup === undefined) {
      setup = createEnvironmentSetup(config.environment, config.systemPrompt);
      setups.set(runDirectory, setup);
      setup.catch(() => setups.delete(runDirectory));
    }
    return setup;
  };
  const sessions = new Map<
    string,
    { runDirectory: string; checkpoint: string | null; session: ToolChatSession; turns: number }
  >();
  const stateOf = (id: string, session: ToolChatSession): ConsoleToolChatState => ({
    session: id,
    ...session.state(),
  });

  const start = async (request: Extract<ConsoleToolRequest, { action: 'start' }>) => {
    const config = await configOf(request.runDirectory);
    if (config.environment.type !== 'support-desk') {
      throw new InvalidArgumentError({
        argument: 'runDirectory',
        value: request.runDirectory,
        message: `trains on a ${config.environment.type} environment, which offers no tools the console runs`,
      });
    }
    const setup = await setupOf(request.runDirectory);
    let scenario: Scenario;
    if (request.scenario === null) {
      // A fresh task of the training distribution: the train generator with a new seed, any kind.
      const seed = randomInt(1, 2 ** 31);
      const pool = supportDeskTasks({ split: 'train', count: supportDeskTaskKinds.length, seed });
      const task = pool[seed % pool.length]!;
      scenario = { ...task, id: `support-desk-fresh-${seed}` } as unknown as Scenario;
    } else {
      const found = setup.trainScenarios.find((item) => item.id === request.scenario);
      if (found === undefined) {
        throw new InvalidArgumentError({
          argument: 'scenario',
          value: request.scenario,
          message: `is not one of the run's ${setup.trainScenarios.length} training scenarios`,
        });
      }
      scenario = found;
    }
    const source = await load(request.runDirectory, request.checkpoint);
    const { tokenizer } = source;
    const { maxNewTokens } = config.trainer.generation;
    const entry = {
      runDirectory: request.runDirectory,
      checkpoint: request.checkpoint,
      turns: 0,
    };
    const session = await startToolChatSession({
      environment: setup.environment,
      scenario,
      seed: 0,
      ...(source.systemPrompt ? { systemPrompt: source.systemPrompt } : {}),
      tokenizer,
      maxNewTokens,
      maxSequenceLength: Math.min(config.trainer.maxSequenceLength, source.contextLength),
      sample: async (prompt) => {
        // Another chat may have loaded another checkpoint since: load this one again.
        const model = await load(entry.runDirectory, entry.checkpoint);
        entry.turns += 1;
        return model.sample({
          prompt,
          maxNewTokens,
          temperature,
          stopTokenIds: [tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId],
          seed: entry.turns,
        });
      },
    });
    const id = randomUUID();
    sessions.set(id, { ...entry, session });
    while (sessions.size > maximumToolSessions) sessions.delete(sessions.keys().next().value!);
    return stateOf(id, session);
  };

  return {
    reply(request) {
      return serially(async () => {
        const source = await load(request.runDirectory, request.checkpoint);
        const systemPrompt = source.systemPrompt ?? defaultSupportSystemPrompt;
        const messages: Message[] = [
          { role: 'system', content: systemPrompt },
          ...request.messages,
        ];
        const reply = await replyTo({
          model: source,
          messages,
          maxNewTokens: options.maxNewTokens,
          temperature,
          seed: 0,
        });
        return { reply, systemPrompt };
      });
    },
    async toolScenarios(runDirectory): Promise<ConsoleToolScenario[] | null> {
      let config: AppConfig;
      try {
        config = await configOf(runDirectory);
      } catch {
        return null;
      }
      if (config.environment.type !== 'support-desk') return null;
      return (await setupOf(runDirectory)).trainScenarios.map((scenario) => {
        const task = scenario as unknown as SupportDeskTask;
        return { id: task.id, label: `${task.kind}: ${task.user.opening}` };
      });
    },
    tools(request) {
      return serially(async () => {
        if (request.action === 'start') return start(request);
        const entry = sessions.get(request.session);
        if (entry === undefined || entry.runDirectory !== request.runDirectory) {
          throw new InvalidArgumentError({
            argument: 'session',
            value: request.session,
            message: 'is no chat of this run in this console (it may have been dropped): start one',
          });
        }
        const state =
          request.action === 'say'
            ? await entry.session.say(request.message)
            : await entry.session.close();
        return { session: request.session, ...state };
      });
    },
    dispose() {
      loaded?.source.dispose();
      loaded = undefined;
      sessions.clear();
    },
  };
}
