import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Environment, Scenario } from '@cohort/core';
import {
  createSupportDeskEnvironment,
  supportDeskTasks,
  type ToolEpisode,
} from '@cohort/environments';
import { initializeBackend, LlamaPolicy } from '@cohort/tfjs';
import { loadLlamaModel, writeTinyLlamaFolder } from '@cohort/tfjs/node';
import { collectEpisodes } from '@cohort/trainer';
import { loadTransformersTokenizer } from '@cohort/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from './app-config';
import { createConsoleChat } from './console-chat';
import { writeRunConfig } from './test-support/run-fixture';
import { createEnvironmentSetup } from './training-setup';

let root: string;
let modelDirectory: string;
const maxSequenceLength = 1536;
const maxNewTokens = 6;

/** A run directory of the support desk over the tiny model (only its config: the chat reads nothing else). */
async function writeRun(
  name: string,
  environment: Record<string, unknown>,
): Promise<{ directory: string; config: AppConfig }> {
  const directory = path.join(root, name);
  const config = await writeRunConfig(directory, {
    name,
    environment,
    policy: { type: 'tfjs-lm', modelDirectory },
    trainer: { generation: { maxNewTokens, temperature: 1 }, maxSequenceLength },
  });
  return { directory, config };
}

beforeAll(async () => {
  await initializeBackend({ logger: false });
  root = await mkdtemp(path.join(tmpdir(), 'cohort-console-chat-'));
  modelDirectory = path.join(root, 'tiny-llama');
  // The tokenizer learns the support desk's own texts, so its long system prompt is a few hundred ids.
  const environment = createSupportDeskEnvironment({ toolPrompt: 'compact' });
  const texts = [];
  for (const task of supportDeskTasks({ split: 'train', count: 3 })) {
    const episode = await environment.reset({ scenario: task, seed: 0 });
    texts.push(...episode.messages.map((message) => message.content));
  }
  await writeTinyLlamaFolder(modelDirectory, {
    config: {
      modelType: 'qwen2',
      hiddenSize: 32,
      intermediateSize: 48,
      layerCount: 2,
      headCount: 4,
      keyValueHeadCount: 2,
      contextLength: maxSequenceLength,
    },
    seed: 5,
    dtype: 'F32',
    texts,
    tokenizerVocabSize: 900,
  });
});

describe('createConsoleChat with tools', () => {
  it('runs the checkpoint on a scenario of the run with its tools, as a greedy rollout of the same customer lines would', async () => {
    const { directory: run, config } = await writeRun('desk', {
      type: 'support-desk',
      trainTasks: 3,
    });
    const chat = createConsoleChat({ maxNewTokens: 64 });
    try {
      const scenarios = await chat.toolScenarios!(run);
      const tasks = supportDeskTasks({ split: 'train', count: 3 });
      expect(scenarios).toEqual(
        tasks.map((task) => ({ id: task.id, label: `${task.kind}: ${task.user.opening}` })),
      );
      const task = tasks[1]!;

      // The trainer's own sampling of the same model, greedy, with the scripted customer.
      const model = await loadLlamaModel(modelDirectory);
      const tokenizer = await loadTransformersTokenizer(modelDirectory);
      const policy = new LlamaPolicy({ model, tokenizer });
      // A rollout where the customer's lines are the person's: the run's environment with a person
      // user, whose lines come from a list (the scripted customer would leave after one random reply).
      const lines = [
        `My email is ${task.user.email}.`,
        `The order number is ${task.user.orderId}. Please hurry.`,
      ];
      const { environment } = await createEnvironmentSetup(config.environment);
      const personEnvironment: Environment<Scenario> = {
        name: environment.name,
        async reset(options) {
          const episode = (await environment.reset({
            ...options,
            user: 'person',
          } as never)) as ToolEpisode;
          let said = 0;
          return {
            get messages() {
              return episode.messages;
            },
            async step(agentMessage) {
              const result = await episode.step(agentMessage);
              if (result.done || !episode.awaitingUser) return result;
              if (said === lines.length) return episode.close();
              episode.say(lines[said]!);
              said += 1;
              return { ...result, userMessage: lines[said - 1]! };
            },
          };
        },
      };
      const rollout = await collectEpisodes({
        policy,
        environment: personEnvironment,
        scenarios: [task as unknown as Scenario],
        groupSize: 1,
        seed: 2,
        generation: {
          maxNewTokens,
          temperature: 0,
          stopTokenIds: [tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId],
        },
        rewards: [],
        maxSequenceLength,
        label: 'chat',
      });
      model.dispose();
      const trajectory = rollout.groups[0]!.trajectories[0]!;
      expect(trajectory.messages.filter((message) => message.role === 'assistant')).toHaveLength(
        lines.length + 1,
      );

      let state = await chat.tools!({
        action: 'start',
        runDirectory: run,
        checkpoint: null,
        scenario: task.id,
      });
      expect(state.messages[0]!.content).toContain('find_customer');
      expect(state.messages[1]).toEqual({ role: 'user', content: task.user.opening });
      for (const line of lines) {
        if (state.done) break;
        state = await chat.tools!({
          action: 'say',
          runDirectory: run,
          session: state.session,
          message: line,
        });
      }
      state = await chat.tools!({ action: 'close', runDirectory: run, session: state.session });
      expect(state.messages).toEqual(trajectory.messages);
      expect(state.tokenCount).toBe(trajectory.tokenIds.length);
      expect(state.outcome).toMatchObject({ solved: false });
      expect(state.outcome!.info.supportDesk).toMatchObject({ success: false });

      const fresh = await chat.tools!({
        action: 'start',
        runDirectory: run,
        checkpoint: null,
        scenario: null,
      });
      expect(fresh.scenarioId).toMatch(/^support-desk-fresh-\d+$/);
      expect(fresh.messages[0]!.content).toContain('find_customer');

      await expect(
        chat.tools!({ action: 'start', runDirectory: run, checkpoint: null, scenario: 'nope' }),
      ).rejects.toThrow(/scenario = "nope": is not one of the run's 3 training scenarios/);
      await expect(
        chat.tools!({ action: 'say', runDirectory: run, session: 'gone', message: 'hi' }),
      ).rejects.toThrow(/session = "gone": is no chat of this run/);
      await expect(
        chat.tools!({ action: 'say', runDirectory: run, session: state.session, message: 'hi' }),
      ).rejects.toThrow(/message = "hi": the conversation has ended/);

      const { directory: plain } = await writeRun('plain', { type: 'support' });
      expect(await chat.toolScenarios!(plain)).toBeNull();
      await expect(
        chat.tools!({ action: 'start', runDirectory: plain, checkpoint: null, scenario: null }),
      ).rejects.toThrow(/runDirectory = .*plain.*support environment, which offers no tools/);
    } finally {
      chat.dispose();
    }
  });
});
