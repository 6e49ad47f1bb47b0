/**
 * A real MCP server for the tests: an inventory with three tools, served on
 * stdio (`inventory-server.ts stdio`) or streamable HTTP (`... http`, which
 * prints `listening <port>` once it listens on a free port).
 */
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const stock: Record<string, number> = { 'SKU-1': 4, 'SKU-2': 0 };

function inventoryServer(): McpServer {
  const server = new McpServer({ name: 'inventory', version: '1.0.0' });
  server.registerTool(
    'stock_level',
    {
      description: 'Units in stock of a product.',
      inputSchema: { sku: z.string().describe('The product code.') },
      outputSchema: { sku: z.string(), units: z.number() },
    },
    async ({ sku }) => {
      const units = stock[sku];
      if (units === undefined) {
        return { isError: true, content: [{ type: 'text', text: `unknown sku ${sku}` }] };
      }
      return {
        content: [{ type: 'text', text: JSON.stringify({ sku, units }) }],
        structuredContent: { sku, units },
      };
    },
  );
  server.registerTool(
    'reserve',
    {
      description: 'Reserves units of a product.',
      inputSchema: { sku: z.string(), units: z.number().int().positive() },
    },
    async ({ sku, units }) => {
      const available = stock[sku] ?? 0;
      if (units > available) {
        return { isError: true, content: [{ type: 'text', text: `only ${available} in stock` }] };
      }
      stock[sku] = available - units;
      return { content: [{ type: 'text', text: `reserved ${units} of ${sku}` }] };
    },
  );
  server.registerTool(
    'slow_report',
    { description: 'Takes a while.', inputSchema: { ms: z.number() } },
    async ({ ms }) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { content: [{ type: 'text', text: 'report' }] };
    },
  );
  return server;
}

if (process.argv[2] === 'http') {
  const http = createServer(async (request, response) => {
    // Stateless: one server and transport per request, as the SDK's stateless example does.
    const server = inventoryServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request, response);
  });
  http.listen(0, '127.0.0.1', () => {
    const address = http.address();
    process.stdout.write(
      `listening ${typeof address === 'object' && address ? address.port : 0}\n`,
    );
  });
} else {
  await inventoryServer().connect(new StdioServerTransport());
}
