import { describe, expect, it } from 'vitest';
import { main, questions } from './main';

describe('examples/mcp-tools', () => {
  it('an agent quotes every parcel right through the tools of a real MCP server process', async () => {
    const lines: string[] = [];
    const { toolNames, transcripts } = await main({ log: (line) => lines.push(line) });
    expect(toolNames).toEqual(['shipping_quote']);
    // Prices by hand: 2.40 x 2.5 = 6.00, 6.15 x 4 = 24.60, 12.90 x 1.2 = 15.48.
    expect(lines).toEqual([
      'a: success (It costs $6.00.)',
      'b: success (It costs $24.60.)',
      'c: success (It costs $15.48.)',
    ]);
    for (const [index, transcript] of transcripts.entries()) {
      expect(transcript.map((message) => message.role)).toEqual([
        'system',
        'user',
        'assistant',
        'tool',
        'assistant',
      ]);
      expect(JSON.parse(transcript[3]!.content)).toEqual({
        price: Number(questions[index]!.price),
      });
      // The server's own JSON Schema is in the system prompt.
      expect(transcript[0]!.content).toContain('"enum":["domestic","europe","overseas"]');
    }
  });
});
