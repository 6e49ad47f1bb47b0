/**
 * An MCP server on stdio, written with the official SDK as any MCP server is:
 * shipping quotes of a carrier. Cohort knows nothing of it; the agent reaches
 * it through `connectMcpTools`.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

// Price per kilogram, in cents, by destination zone.
const centsPerKilogram: Record<string, number> = { domestic: 240, europe: 615, overseas: 1290 };

const server = new McpServer({ name: 'shipping', version: '1.0.0' });
server.registerTool(
  'shipping_quote',
  {
    description: 'Price in dollars of shipping a parcel to a zone.',
    inputSchema: {
      zone: z.enum(['domestic', 'europe', 'overseas']),
      kilograms: z.number().positive().max(30),
    },
    outputSchema: { price: z.number() },
  },
  async ({ zone, kilograms }) => {
    const price = Math.round(centsPerKilogram[zone]! * kilograms) / 100;
    return {
      content: [{ type: 'text', text: JSON.stringify({ price }) }],
      structuredContent: { price },
    };
  },
);
await server.connect(new StdioServerTransport());
