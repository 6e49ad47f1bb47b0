import { InvalidArgumentError, parseWithSchema, type Tool } from '@cohort/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { z } from 'zod';
import {
  type McpToolsOptions,
  type McpToolsOptionsInput,
  McpToolsOptionsSchema,
} from './mcp-tools-options';

/** The tools of one connected MCP server, and the connection to close when done. */
export interface McpToolset {
  /** The server's tools as Cohort tools, ready for a tool environment. */
  readonly tools: Tool[];
  /** Closes the connection (and ends a stdio server process). */
  close(): Promise<void>;
}

interface McpContent {
  type: string;
  text?: string;
}

function transportFor(server: McpToolsOptions['server']): Transport {
  if (server.transport === 'stdio') {
    return new StdioClientTransport({
      command: server.command,
      args: server.args,
      ...(server.env === undefined ? {} : { env: server.env }),
      ...(server.cwd === undefined ? {} : { cwd: server.cwd }),
      stderr: 'pipe',
    });
  }
  return new StreamableHTTPClientTransport(new URL(server.url), {
    ...(server.headers === undefined ? {} : { requestInit: { headers: server.headers } }),
  });
}

function textOf(content: readonly McpContent[] | undefined): string {
  return (content ?? [])
    .map((item) => (item.type === 'text' ? (item.text ?? '') : `[${item.type}]`))
    .join('\n');
}

/**
 * Connects to a Model Context Protocol server with the official SDK (stdio or
 * streamable HTTP), lists its tools and wraps each as a Cohort {@link Tool}:
 * - the model sees the server's own `inputSchema` (`jsonSchema`), and
 *   arguments are checked against it before the call (`z.fromJSONSchema`),
 *   so a schema failure is the runner's `invalid-arguments`, as for local tools;
 * - `execute` calls the tool; a result with `isError` throws its text (the
 *   runner's `tool-error`); otherwise it returns `structuredContent` when the
 *   server gives it, else the text content;
 * - the runner's timeout aborts the request through its signal.
 * Close the toolset when done: a stdio server process ends with it.
 *
 * @example
 * ```ts
 * const toolset = await connectMcpTools({ server: { transport: 'stdio', command: 'node', args: ['server.js'] } });
 * const environment = createToolEnvironment({ name: 'mcp', createTask: () => ({ ..., tools: toolset.tools }) });
 * // ... train ...
 * await toolset.close();
 * ```
 */
export async function connectMcpTools(options: McpToolsOptionsInput): Promise<McpToolset> {
  const parsed = parseWithSchema(McpToolsOptionsSchema, options, 'MCP tools options');
  const client = new Client({ name: parsed.clientName, version: '0.1.0' });
  await client.connect(transportFor(parsed.server));
  try {
    const listed = (await client.listTools()).tools;
    const byName = new Map(listed.map((tool) => [tool.name, tool]));
    const names = parsed.include ?? listed.map((tool) => tool.name);
    const tools = names.map((name): Tool => {
      const served = byName.get(name);
      if (!served) {
        throw new InvalidArgumentError({
          argument: 'include',
          value: name,
          message: `the server has no such tool; it has ${[...byName.keys()].join(', ')}`,
        });
      }
      const jsonSchema = served.inputSchema as Record<string, unknown>;
      return {
        name,
        description: served.description ?? served.title ?? name,
        parameters: z.fromJSONSchema(jsonSchema as Parameters<typeof z.fromJSONSchema>[0]),
        jsonSchema,
        async execute(argumentsObject: never, { signal }) {
          const result = await client.callTool(
            { name, arguments: argumentsObject as Record<string, unknown> },
            undefined,
            { signal },
          );
          const content = result.content as McpContent[] | undefined;
          if (result.isError) throw new Error(textOf(content) || `${name} failed`);
          return result.structuredContent ?? textOf(content);
        },
      };
    });
    return { tools, close: () => client.close() };
  } catch (error) {
    await client.close();
    throw error;
  }
}
