import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MessageSchema } from './message';
import { defineTool, ToolCallRecordSchema } from './tool';
import { TurnSchema } from './trajectory';

describe('tools', () => {
  it('types execute from the schema and exports the parameters as JSON Schema', async () => {
    const add = defineTool({
      name: 'add',
      description: 'Adds two numbers.',
      parameters: z.object({ a: z.number().describe('first'), b: z.number() }),
      execute: ({ a, b }) => ({ sum: a + b }),
    });
    const schema = z.toJSONSchema(add.parameters) as Record<string, unknown>;
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['a', 'b']);
    expect((schema.properties as Record<string, { description?: string }>).a?.description).toBe(
      'first',
    );
    const signal = new AbortController().signal;
    expect(await add.execute({ a: 2, b: 3 } as never, { signal })).toEqual({ sum: 5 });
  });

  it('accepts tool messages and turns, and validates tool call records', () => {
    expect(MessageSchema.parse({ role: 'tool', content: '{}' }).role).toBe('tool');
    expect(
      TurnSchema.parse({ role: 'tool', content: '{}', tokenStart: 3, tokenEnd: 9 }).reward,
    ).toBeNull();
    const record = {
      turnIndex: 1,
      name: 'add',
      arguments: { a: 1 },
      error: { kind: 'invalid-arguments', message: 'b: required' },
      durationMs: 0,
    };
    expect(ToolCallRecordSchema.parse(record)).toEqual(record);
    expect(
      ToolCallRecordSchema.safeParse({ ...record, error: { kind: 'oops', message: '' } }).success,
    ).toBe(false);
  });
});
