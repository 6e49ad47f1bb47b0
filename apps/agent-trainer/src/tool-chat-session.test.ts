import type { Policy, SampledCompletion, SampleRequest, Scenario, Tokenizer } from '@cohort/core';
import { createSupportDeskEnvironment, supportDeskTasks } from '@cohort/environments';
import { trainBpeTokenizer } from '@cohort/tfjs';
import { collectEpisodes } from '@cohort/trainer';
import { describe, expect, it } from 'vitest';
import { referenceReplyIds } from './test-support/reference-chat-model';
import { startToolChatSession } from './tool-chat-session';

/**
 * The support desk's reference agent as a token policy: it reads the
 * conversation from the prompt's ids and says its reply's ids, then the end
 * of the turn, in ids no encoder would choose. It calls the tools, so the rollout and the chat both run them.
 */
class ReferencePolicy implements Policy<never, never> {
  readonly version = 5;
  constructor(readonly tokenizer: Tokenizer) {}

  reply(prompt: readonly number[]): number[] {
    const ids = referenceReplyIds(this.tokenizer, prompt);
    const text = this.tokenizer.decode(ids, { skipSpecialTokens: true });
    expect(ids.slice(0, -1)).not.toEqual(this.tokenizer.encode(text));
    return ids;
  }

  async sample(request: SampleRequest): Promise<SampledCompletion[]> {
    return request.prompts.map((prompt, promptIndex) => {
      const tokenIds = this.reply(prompt);
      return {
        promptIndex,
        sampleIndex: 0,
        tokenIds,
        logProbsPerToken: tokenIds.map(() => -0.5),
        finishReason: 'stop',
      };
    });
  }

  tokenLogProbs(): never {
    throw new Error('a rollout does not score');
  }

  trainableVariables(): readonly never[] {
    return [];
  }
}

const tokenizer = trainBpeTokenizer({
  texts: ['Hello, I can help with your order. Please tell me your email.', '{"order_id": "A1234"}'],
  vocabSize: 400,
});

describe('tool chat session', () => {
  it('gives the token ids, loss mask and conversation that a rollout of the same customer lines gives, and the same database verdict', async () => {
    const environment = createSupportDeskEnvironment();
    const policy = new ReferencePolicy(tokenizer);
    const tasks = supportDeskTasks({ split: 'train', count: 3 });
    for (const task of tasks) {
      const scenario = task as unknown as Scenario;
      const rollout = await collectEpisodes({
        policy,
        environment: environment as never,
        scenarios: [scenario],
        groupSize: 1,
        seed: 4,
        generation: { maxNewTokens: 400, temperature: 1 },
        rewards: [],
        maxSequenceLength: 20_000,
        label: 'chat',
      });
      const trajectory = rollout.groups[0]!.trajectories[0]!;
      expect(trajectory.endReason).toBe('success');
      expect(trajectory.toolCalls?.length).toBeGreaterThanOrEqual(2);
      const customerLines = trajectory.messages
        .slice(2)
        .filter((message) => message.role === 'user')
        .map((message) => message.content);

      const session = await startToolChatSession({
        environment: environment as never,
        scenario,
        seed: trajectory.seed,
        tokenizer,
        sample: async (prompt) => policy.reply(prompt),
        maxNewTokens: 400,
        maxSequenceLength: 20_000,
      });
      for (const line of customerLines) {
        expect(session.state().done).toBe(false);
        await session.say(line);
      }
      const state = await session.close();
      expect(session.tokenIds).toEqual(trajectory.tokenIds);
      expect(session.lossMask).toEqual(trajectory.lossMask);
      expect(state.messages).toEqual(trajectory.messages);
      expect(state.toolCalls.map(({ durationMs: _, ...call }) => call)).toEqual(
        trajectory.toolCalls!.map(({ durationMs: _, ...call }) => call),
      );
      expect(state.tokenCount).toBe(trajectory.tokenIds.length);
      expect(state.outcome).toMatchObject({ endReason: 'give-up', solved: true });
      expect((state.outcome!.info.supportDesk as { success: boolean }).success).toBe(true);
      await expect(session.say('anything else?')).rejects.toThrow(/message.*ended/);
    }
  });

  it('says when the task is not solved, and ends with length where a rollout would', async () => {
    const environment = createSupportDeskEnvironment();
    const scenario = supportDeskTasks({ split: 'train', count: 1 })[0] as unknown as Scenario;
    const polite = tokenizer.encode('Hello, how can I help?');
    const politeSession = (maxSequenceLength: number) =>
      startToolChatSession({
        environment: environment as never,
        scenario,
        seed: 1,
        tokenizer,
        sample: async () => [...polite, tokenizer.endOfTurnTokenId!],
        maxNewTokens: 30,
        maxSequenceLength,
      });
    const session = await politeSession(20_000);
    const room = session.tokenIds.length;
    expect(session.state().messages.at(-1)).toEqual({
      role: 'assistant',
      content: 'Hello, how can I help?',
    });
    await session.say('Please refund my order.');
    const closed = await session.close();
    expect(closed.outcome).toMatchObject({ endReason: 'give-up', solved: false });

    // The next agent turn after this user line would not fit: the line is dropped and the episode ends, as in a rollout.
    const short = await politeSession(room + 40);
    const before = short.tokenIds.length;
    const ended = await short.say(
      'A long line that leaves no room for the agent to answer at all.',
    );
    expect(ended.outcome?.endReason).toBe('length');
    expect(short.tokenIds.length).toBe(before);
  });
});
