import {
  defineTool,
  type Message,
  type Policy,
  parseWithSchema,
  type SampledCompletion,
  type SampleRequest,
  type ToolCallFormat,
  TrajectorySchema,
} from '@cohort/core';
import { MockTokenizer } from '@cohort/core/test';
import { createToolEnvironment, formatToolCalls } from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rolloutGroups } from './rollout';

/**
 * The mock tokenizer with Qwen 2.5's rendering of tool results: consecutive
 * `tool` messages share one user turn of `<tool_response>` blocks, so only a
 * whole batch of results keeps the prefix property. One extra id, `merged`,
 * decodes to `"name"`; encoding never produces it, so a sampled `merged` id
 * that survived decoding and re-encoding would be lost.
 */
class QwenLikeTokenizer extends MockTokenizer {
  override readonly vocabSize = new MockTokenizer().vocabSize + 1;
  readonly merged = new MockTokenizer().vocabSize;

  override decode(tokenIds: readonly number[], options: { skipSpecialTokens?: boolean } = {}) {
    return tokenIds
      .map((id) => (id === this.merged ? '"name"' : super.decode([id], options)))
      .join('');
  }

  override applyChatTemplate(
    messages: readonly Message[],
    options: { addGenerationPrompt?: boolean } = {},
  ): number[] {
    const ids: number[] = [];
    messages.forEach((message, index) => {
      if (message.role !== 'tool') {
        ids.push(...super.applyChatTemplate([message], { addGenerationPrompt: false }));
        return;
      }
      if (messages[index - 1]?.role !== 'tool') ids.push(2, ...super.encode('user'));
      ids.push(...super.encode(`\n<tool_response>\n${message.content}\n</tool_response>`));
      if (messages[index + 1]?.role !== 'tool') ids.push(3, ...super.encode('\n'));
    });
    if (options.addGenerationPrompt ?? true) ids.push(2, ...super.encode('assistant\n'));
    return ids;
  }

  /** Ids of a text with every `"name"` as the merged id, as a model might sample it. */
  sampledIds(text: string): number[] {
    const ids: number[] = [];
    const parts = text.split('"name"');
    parts.forEach((part, index) => {
      ids.push(...super.encode(part));
      if (index < parts.length - 1) ids.push(this.merged);
    });
    return ids;
  }

  /** The ids with every merged id spelled out character by character. */
  expand(ids: readonly number[]): number[] {
    return ids.flatMap((id) => (id === this.merged ? super.encode('"name"') : [id]));
  }
}

/** Says its scripted replies in order (by the number of agent turns in the prompt), with distinct log-probs. */
class ScriptedPolicy implements Policy<never, never> {
  readonly version = 3;
  readonly sampled: number[][] = [];
  constructor(
    readonly tokenizer: QwenLikeTokenizer,
    private readonly replies: readonly string[],
  ) {}

  async sample(request: SampleRequest): Promise<SampledCompletion[]> {
    return request.prompts.map((prompt, promptIndex) => {
      const turn = this.tokenizer.decode(prompt).split('<|im_start|>assistant\n').length - 2;
      const tokenIds = [...this.tokenizer.sampledIds(this.replies[turn]!), 3];
      this.sampled.push(tokenIds);
      return {
        promptIndex,
        sampleIndex: 0,
        tokenIds,
        logProbsPerToken: tokenIds.map((_, index) => -0.01 * (index + 1) - turn),
        finishReason: 'stop' as const,
      };
    });
  }

  tokenLogProbs(): never {
    throw new Error('not used');
  }

  trainableVariables(): readonly never[] {
    return [];
  }
}

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers.',
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => ({ sum: a + b }),
});

describe.each(['hermes', 'llama3-json'] as const)(
  'rollout with tools (%s)',
  (format: ToolCallFormat) => {
    it('keeps every id exact across tool turns and records the calls', async () => {
      const tokenizer = new QwenLikeTokenizer();
      const environment = createToolEnvironment<{ id: string }>({
        name: 'calculator',
        format,
        createTask: () => ({
          systemPrompt: 'Use the tools.',
          openingMessage: 'What is 2+3?',
          tools: [add],
          respond: ({ agentMessage }) => ({
            done: true,
            endReason: agentMessage.includes('5') ? ('success' as const) : ('give-up' as const),
          }),
          finish: ({ endReason }) => ({ reward: endReason === 'success' ? 1 : 0 }),
        }),
      });
      const calls = formatToolCalls(
        [
          { name: 'add', arguments: { a: 2, b: 3 } },
          { name: 'subtract', arguments: { a: 2, b: 3 } },
        ],
        format,
      );
      const policy = new ScriptedPolicy(tokenizer, [calls, 'It is 5.']);
      const result = await rolloutGroups({
        policy,
        environment,
        scenarios: [{ id: 'sum' }],
        groupSize: 1,
        seed: 4,
        generation: { maxNewTokens: 200 },
        rewards: [],
        maxSequenceLength: 4096,
        label: 't',
      });
      const trajectory = result.groups[0]!.trajectories[0]!;
      parseWithSchema(TrajectorySchema, JSON.parse(JSON.stringify(trajectory)), 'trajectory');
      expect(trajectory.endReason).toBe('success');
      expect(trajectory.totalReward).toBe(1);
      expect(trajectory.policyVersion).toBe(3);
      expect(trajectory.messages.map((message) => message.role)).toEqual([
        'system',
        'user',
        'assistant',
        'tool',
        'tool',
        'assistant',
      ]);
      expect(trajectory.turns.map((turn) => turn.role)).toEqual([
        'system',
        'user',
        'assistant',
        'tool',
        'assistant',
      ]);
      // The sampled ids sit in the agent turns exactly as sampled (the merged ids included), with their log-probs.
      const agentTurns = trajectory.turns.filter((turn) => turn.role === 'assistant');
      expect(policy.sampled.some((ids) => ids.includes(tokenizer.merged))).toBe(
        format === 'hermes' || format === 'llama3-json',
      );
      agentTurns.forEach((turn, index) => {
        expect(trajectory.tokenIds.slice(turn.tokenStart, turn.tokenEnd)).toEqual(
          policy.sampled[index],
        );
        expect(
          trajectory.lossMask.slice(turn.tokenStart, turn.tokenEnd).every((mask) => mask === 1),
        ).toBe(true);
        expect(trajectory.behaviorLogProbs.slice(turn.tokenStart, turn.tokenEnd)).toEqual(
          policy.sampled[index]!.map((_, position) => -0.01 * (position + 1) - index),
        );
      });
      const sampledCount = policy.sampled.reduce((sum, ids) => sum + ids.length, 0);
      expect(trajectory.lossMask.reduce<number>((sum, mask) => sum + mask, 0)).toBe(sampledCount);
      // Every other id is the template's: spelled out, the sequence is the rendering of the whole conversation.
      expect(tokenizer.expand(trajectory.tokenIds)).toEqual(
        tokenizer.applyChatTemplate(trajectory.messages, { addGenerationPrompt: false }),
      );
      // The tool turn spans both results, rendered as one Qwen user turn.
      const toolTurn = trajectory.turns.find((turn) => turn.role === 'tool')!;
      expect(
        tokenizer.decode(trajectory.tokenIds.slice(toolTurn.tokenStart, toolTurn.tokenEnd)),
      ).toBe(
        '<|im_start|>user\n<tool_response>\n{"sum":5}\n</tool_response>\n<tool_response>\n' +
          `${trajectory.messages[4]!.content}\n</tool_response><|im_end|>\n<|im_start|>assistant\n`,
      );
      expect(trajectory.toolCalls!.map((record) => [record.name, record.error?.kind])).toEqual([
        ['add', undefined],
        ['subtract', 'unknown-tool'],
      ]);
      expect(trajectory.toolCalls![0]!.result).toEqual({ sum: 5 });
    });
  },
);
