import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, ValidationError } from '@cohort/core';
import { createToolEnvironment, formatToolCalls, toolDefinition } from '@cohort/environments';
import { afterAll, describe, expect, it } from 'vitest';
import { connectMcpTools, type McpToolset } from './mcp-tools';

const serverPath = fileURLToPath(new URL('./test-support/inventory-server.ts', import.meta.url));
const nodeArgs = ['--import', 'tsx', serverPath];

async function startHttpServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...nodeArgs, 'http'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  for await (const chunk of child.stdout!) {
    output += String(chunk);
    const match = /listening (\d+)/.exec(output);
    if (match) return { child, url: `http://127.0.0.1:${match[1]}/mcp` };
  }
  throw new Error(`the MCP server exited before listening: ${output}`);
}

async function runEpisode(toolset: McpToolset) {
  const environment = createToolEnvironment<{ sku: string }>({
    name: 'inventory',
    toolTimeoutMs: 2000,
    createTask: ({ scenario }) => ({
      systemPrompt: 'You manage the inventory.',
      openingMessage: `Reserve one ${scenario.sku}.`,
      tools: toolset.tools,
      respond: () => ({ done: true, endReason: 'success' }),
    }),
  });
  const episode = await environment.reset({ scenario: { sku: 'SKU-1' }, seed: 1 });
  const result = await episode.step(
    formatToolCalls(
      [
        { name: 'stock_level', arguments: { sku: 'SKU-1' } },
        { name: 'reserve', arguments: { sku: 'SKU-1', units: 1 } },
        { name: 'reserve', arguments: { sku: 'SKU-1', units: 'one' } },
        { name: 'reserve', arguments: { sku: 'SKU-2', units: 1 } },
        { name: 'stock_level', arguments: { sku: 'SKU-9' } },
        { name: 'slow_report', arguments: { ms: 30_000 } },
        { name: 'delete_everything', arguments: {} },
      ],
      'hermes',
    ),
  );
  return { episode, result };
}

describe('connectMcpTools against a real MCP server', () => {
  const open: McpToolset[] = [];
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const toolset of open) await toolset.close();
    for (const child of children) {
      child.kill();
      if (child.exitCode === null) await once(child, 'exit');
    }
  });

  it.each(['stdio', 'streamable-http'] as const)(
    'runs the tools of a server on %s',
    async (transport) => {
      let server: Parameters<typeof connectMcpTools>[0]['server'];
      if (transport === 'stdio') {
        server = { transport, command: process.execPath, args: [...nodeArgs, 'stdio'] };
      } else {
        const started = await startHttpServer();
        children.push(started.child);
        server = { transport, url: started.url };
      }
      const toolset = await connectMcpTools({ server });
      open.push(toolset);
      expect(toolset.tools.map((tool) => tool.name)).toEqual([
        'stock_level',
        'reserve',
        'slow_report',
      ]);
      // The model sees the server's own JSON Schema.
      expect(toolDefinition(toolset.tools[0]!).function).toMatchObject({
        name: 'stock_level',
        description: 'Units in stock of a product.',
        parameters: {
          type: 'object',
          properties: { sku: { type: 'string', description: 'The product code.' } },
          required: ['sku'],
        },
      });
      const { episode, result } = await runEpisode(toolset);
      expect(result.done).toBe(false);
      const outcomes = result.toolCalls!.map((record) => record.error?.kind ?? record.result);
      expect(outcomes).toEqual([
        { sku: 'SKU-1', units: 4 },
        'reserved 1 of SKU-1',
        'invalid-arguments',
        'tool-error',
        'tool-error',
        'timeout',
        'unknown-tool',
      ]);
      expect(result.toolMessages!.map((message) => message.content).slice(0, 5)).toEqual([
        '{"sku":"SKU-1","units":4}',
        'reserved 1 of SKU-1',
        expect.stringMatching(/^\{"error":"invalid-arguments: units: /),
        '{"error":"tool-error: only 0 in stock"}',
        '{"error":"tool-error: unknown sku SKU-9"}',
      ]);
      // The connection survives a timed-out call: the server's state moved by the reserve.
      const again = await episode.step(
        formatToolCalls([{ name: 'stock_level', arguments: { sku: 'SKU-1' } }], 'hermes'),
      );
      expect(again.toolCalls![0]!.result).toEqual({ sku: 'SKU-1', units: 3 });
    },
  );

  it('refuses bad options and tools the server lacks, by name', async () => {
    await expect(connectMcpTools({ server: { transport: 'websocket' } as never })).rejects.toThrow(
      ValidationError,
    );
    await expect(
      connectMcpTools({ server: { transport: 'streamable-http', url: 'not a url' } }),
    ).rejects.toThrow(/server.url/);
    await expect(
      connectMcpTools({
        server: { transport: 'stdio', command: process.execPath, args: [...nodeArgs, 'stdio'] },
        include: ['stock_level', 'teleport'],
      }),
    ).rejects.toThrow(InvalidArgumentError);
  });
});
