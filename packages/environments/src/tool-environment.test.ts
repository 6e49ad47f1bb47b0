import { defineTool, InvalidArgumentError, ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EpisodeDoneError } from './episode-done-error';
import { formatToolCalls } from './tool-call-parser';
import { createToolEnvironment } from './tool-environment';
import { toolDefinition, toolInstructions } from './tool-prompt';

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers.',
  parameters: z.object({ a: z.number(), b: z.number().describe('second addend') }),
  execute: ({ a, b }) => ({ sum: a + b }),
});
const boom = defineTool({
  name: 'boom',
  description: 'Always fails.',
  parameters: z.object({}),
  execute: () => {
    throw new Error('database is down');
  },
});
let slowWasAborted = false;
const slow = defineTool({
  name: 'slow',
  description: 'Takes too long.',
  parameters: z.object({}),
  execute: (_, { signal }) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve('late'), 2000);
      signal.addEventListener('abort', () => {
        slowWasAborted = true;
        clearTimeout(timer);
      });
    }),
});
const notJson = defineTool({
  name: 'not_json',
  description: 'Returns a bigint.',
  parameters: z.object({}),
  execute: () => 10n,
});

interface Question {
  question: string;
  answer: string;
}

function environment(maxAgentTurns = 8) {
  return createToolEnvironment<Question>({
    name: 'calculator',
    toolTimeoutMs: 50,
    maxAgentTurns,
    createTask: ({ scenario }) => ({
      systemPrompt: 'Use the tools.',
      openingMessage: scenario.question,
      tools: [add, boom, slow, notJson],
      respond: ({ agentMessage }) =>
        agentMessage.includes(scenario.answer)
          ? { done: true, endReason: 'success' as const }
          : { done: false, userMessage: 'That is not it.' },
      finish: ({ endReason, toolCalls }) => ({
        reward: endReason === 'success' ? 1 : 0,
        info: { calls: toolCalls.length },
      }),
    }),
  });
}

describe('ToolEnvironment', () => {
  it('shows the tools as JSON Schema in the system prompt, in the format of the template', async () => {
    const episode = await environment().reset({
      scenario: { question: '2+3?', answer: '5' },
      seed: 1,
    });
    const system = episode.messages[0]!.content;
    expect(system.startsWith('Use the tools.\n\n# Tools')).toBe(true);
    expect(system).toContain(JSON.stringify(toolDefinition(add)));
    expect(toolDefinition(add).function.parameters).toEqual({
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number', description: 'second addend' } },
      required: ['a', 'b'],
    });
    expect(toolInstructions([add], 'llama3-json')).toContain('"parameters": dictionary');
  });

  it('describes tools in one line each when compact, optional and enum parameters marked', () => {
    const search = defineTool({
      name: 'search',
      description: 'Searches orders.',
      parameters: z.object({
        status: z.enum(['open', 'closed']),
        tags: z.array(z.string()).optional(),
        limit: z.number().int().default(10),
      }),
      execute: () => [],
    });
    expect(toolInstructions([add, search], 'hermes', 'compact')).toBe(
      [
        '# Tools',
        'To call a tool, write <tool_call>{"name": <tool name>, "arguments": <JSON object>}</tool_call>.',
        '- add(a: number, b: number): Adds two numbers.',
        '- search(status: "open"|"closed", tags?: string[], limit?: integer): Searches orders.',
      ].join('\n'),
    );
    expect(toolInstructions([add], 'llama3-json', 'compact')).toContain(
      'answer only {"name": <tool name>, "parameters": <JSON object>}',
    );
    // Signatures: argument names only, optional ones marked.
    expect(toolInstructions([add, search], 'hermes', 'signatures').split('\n').slice(2)).toEqual([
      '- add(a, b)',
      '- search(status, tags?, limit?)',
    ]);
    expect(() => toolInstructions([add], 'hermes', 'yaml' as never)).toThrow(/style = "yaml"/);
  });

  it('runs calls, returns their results as tool messages, then lets the user answer', async () => {
    const episode = await environment().reset({
      scenario: { question: '2+3?', answer: '5' },
      seed: 1,
    });
    const call = formatToolCalls([{ name: 'add', arguments: { a: 2, b: 3 } }], 'hermes');
    const first = await episode.step(call);
    expect(first.done).toBe(false);
    expect(first.userMessage).toBeUndefined();
    expect(first.toolMessages).toEqual([{ role: 'tool', content: '{"sum":5}' }]);
    expect(first.toolCalls).toEqual([
      expect.objectContaining({
        turnIndex: 0,
        name: 'add',
        arguments: { a: 2, b: 3 },
        result: { sum: 5 },
      }),
    ]);
    const second = await episode.step('It is 5.');
    expect(second).toMatchObject({
      done: true,
      endReason: 'success',
      reward: 1,
      info: { calls: 1 },
    });
    expect(episode.messages.map((message) => message.role)).toEqual([
      'system',
      'user',
      'assistant',
      'tool',
      'assistant',
    ]);
    await expect(episode.step('again')).rejects.toThrow(EpisodeDoneError);
  });

  it('turns every kind of bad call into an error message and a metric, never a throw', async () => {
    slowWasAborted = false;
    const episode = await environment().reset({
      scenario: { question: '?', answer: '5' },
      seed: 1,
    });
    const text = [
      '<tool_call>{"name": "add", "arguments": {"a": 1</tool_call>',
      formatToolCalls(
        [
          { name: 'multiply', arguments: {} },
          { name: 'add', arguments: { a: 1, b: 'two' } },
          { name: 'boom', arguments: {} },
          { name: 'slow', arguments: {} },
          { name: 'not_json', arguments: {} },
          { name: 'add', arguments: { a: 1, b: 2 } },
        ],
        'hermes',
      ),
    ].join('\n');
    const result = await episode.step(text);
    const kinds = result.toolCalls!.map((record) => record.error?.kind ?? 'ok');
    expect(kinds).toEqual([
      'malformed',
      'unknown-tool',
      'invalid-arguments',
      'tool-error',
      'timeout',
      'tool-error',
      'ok',
    ]);
    expect(result.info).toMatchObject({
      toolErrors: {
        malformed: 1,
        'unknown-tool': 1,
        'invalid-arguments': 1,
        'tool-error': 2,
        timeout: 1,
      },
    });
    const contents = result.toolMessages!.map((message) => message.content);
    expect(JSON.parse(contents[0]!).error).toMatch(/^malformed: invalid JSON/);
    expect(JSON.parse(contents[1]!).error).toMatch(
      /^unknown-tool: no tool "multiply"; the tools are add, boom, slow, not_json/,
    );
    expect(JSON.parse(contents[2]!).error).toMatch(/^invalid-arguments: b: /);
    expect(JSON.parse(contents[3]!).error).toBe('tool-error: database is down');
    expect(JSON.parse(contents[4]!).error).toBe('timeout: did not finish within 50 ms');
    expect(JSON.parse(contents[5]!).error).toMatch(/^tool-error: .*BigInt/);
    expect(contents[6]).toBe('{"sum":3}');
    expect(slowWasAborted).toBe(true);
    expect(episode.done).toBe(false);
  });

  it('counts tool-calling messages toward the turn limit and still calls finish', async () => {
    const episode = await environment(2).reset({
      scenario: { question: '?', answer: '5' },
      seed: 1,
    });
    const call = formatToolCalls([{ name: 'add', arguments: { a: 1, b: 1 } }], 'hermes');
    expect((await episode.step(call)).done).toBe(false);
    const last = await episode.step(call);
    expect(last).toMatchObject({
      done: true,
      endReason: 'turn-limit',
      reward: 0,
      info: { calls: 2 },
    });
    expect(last.toolMessages).toBeUndefined();
    expect(episode.toolCalls).toHaveLength(2);
  });

  it('refuses bad options and duplicate tool names by name', async () => {
    expect(() => createToolEnvironment({ name: 'x', createTask: 3 as never })).toThrow(
      ValidationError,
    );
    expect(() =>
      createToolEnvironment({ name: 'x', format: 'xml' as never, createTask: () => ({}) as never }),
    ).toThrow(/format/);
    const duplicated = createToolEnvironment({
      name: 'x',
      createTask: () => ({
        systemPrompt: 's',
        openingMessage: 'o',
        tools: [add, add],
        respond: () => ({ done: true }),
      }),
    });
    await expect(duplicated.reset({ scenario: {}, seed: 1 })).rejects.toThrow(InvalidArgumentError);
    await expect(duplicated.reset({ scenario: {}, seed: 1 })).rejects.toThrow(
      /two tools are named "add"/,
    );
  });
});
