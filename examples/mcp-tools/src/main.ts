/**
 * Tools from an MCP server as environment tools: starts the shipping server
 * (src/shipping-server.ts) as a process on stdio, connects to it with
 * `connectMcpTools`, and runs a tool environment whose answers are checked by
 * code against the server's quotes.
 *
 * Run: pnpm --filter @cohort/example-mcp-tools start
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Message } from '@cohort/core';
import { createToolEnvironment, formatToolCalls, parseToolCalls } from '@cohort/environments';
import { connectMcpTools } from '@cohort/mcp';

export interface ShippingQuestion {
  id: string;
  zone: 'domestic' | 'europe' | 'overseas';
  kilograms: number;
  /** The price the carrier charges, known to the checker only. */
  price: string;
}

export const questions: ShippingQuestion[] = [
  { id: 'a', zone: 'domestic', kilograms: 2.5, price: '6.00' },
  { id: 'b', zone: 'europe', kilograms: 4, price: '24.60' },
  { id: 'c', zone: 'overseas', kilograms: 1.2, price: '15.48' },
];

/** Asks the server for a quote, then tells the price. */
export function quotingAgent(messages: readonly Message[]): string {
  const result = messages.at(-1)?.role === 'tool' ? messages.at(-1)! : undefined;
  if (!result) {
    const [, kilograms, zone] = /(\d+(?:\.\d+)?) kg to (\w+)/.exec(messages[1]!.content)!;
    return formatToolCalls(
      [{ name: 'shipping_quote', arguments: { zone, kilograms: Number(kilograms) } }],
      'hermes',
    );
  }
  return `It costs $${(JSON.parse(result.content) as { price: number }).price.toFixed(2)}.`;
}

export async function main(options: { log?: (line: string) => void } = {}) {
  const { log = console.log } = options;
  const toolset = await connectMcpTools({
    server: {
      transport: 'stdio',
      command: process.execPath,
      args: ['--import', 'tsx', fileURLToPath(new URL('./shipping-server.ts', import.meta.url))],
    },
  });
  try {
    const environment = createToolEnvironment<ShippingQuestion>({
      name: 'shipping-desk',
      createTask: ({ scenario }) => ({
        systemPrompt: 'You quote shipping prices. Use the tools.',
        openingMessage: `What does it cost to send ${scenario.kilograms} kg to ${scenario.zone}?`,
        tools: toolset.tools,
        respond: ({ agentMessage }) => ({
          done: true,
          endReason: parseToolCalls(agentMessage, 'hermes').content.includes(`$${scenario.price}`)
            ? 'success'
            : 'give-up',
        }),
      }),
    });
    const transcripts: Message[][] = [];
    for (const [seed, question] of questions.entries()) {
      const episode = await environment.reset({ scenario: question, seed });
      while (!episode.done) await episode.step(quotingAgent(episode.messages));
      log(`${question.id}: ${episode.endReason} (${episode.messages.at(-1)!.content})`);
      transcripts.push([...episode.messages]);
    }
    return { toolNames: toolset.tools.map((tool) => tool.name), transcripts };
  } finally {
    await toolset.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
