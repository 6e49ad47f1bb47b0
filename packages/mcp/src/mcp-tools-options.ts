import { z } from 'zod';

/** Zod schema of how to reach an MCP server: a process on stdio, or a streamable HTTP endpoint. */
export const McpServerOptionsSchema = z.discriminatedUnion('transport', [
  z
    .object({
      transport: z.literal('stdio'),
      command: z.string().min(1).describe('The executable that starts the server.'),
      args: z.array(z.string()).default([]).describe('Its command line arguments.'),
      env: z
        .record(z.string(), z.string())
        .optional()
        .describe("Its environment (default: the SDK's safe default environment)."),
      cwd: z.string().min(1).optional().describe('Its working directory.'),
    })
    .strict(),
  z
    .object({
      transport: z.literal('streamable-http'),
      url: z.url().describe('The MCP endpoint, for example http://127.0.0.1:3000/mcp.'),
      headers: z
        .record(z.string(), z.string())
        .optional()
        .describe('Headers sent with every request (for example Authorization).'),
    })
    .strict(),
]);

/**
 * Options of {@link connectMcpTools}.
 *
 * - `server`: where the server is (see {@link McpServerOptionsSchema}).
 * - `include`: the tool names to offer, in this order (default: every tool the server lists);
 *   a name the server does not have is an error, never silently dropped.
 * - `clientName`: how the client introduces itself to the server.
 */
export const McpToolsOptionsSchema = z
  .object({
    server: McpServerOptionsSchema,
    include: z.array(z.string().min(1)).min(1).optional(),
    clientName: z.string().min(1).default('cohort'),
  })
  .strict();

export type McpServerOptions = z.output<typeof McpServerOptionsSchema>;
export type McpToolsOptions = z.output<typeof McpToolsOptionsSchema>;
export type McpToolsOptionsInput = z.input<typeof McpToolsOptionsSchema>;
