import { InvalidArgumentError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { formatToolCalls, parseToolCalls } from './tool-call-parser';

describe('parseToolCalls, hermes (Qwen)', () => {
  it('finds every <tool_call> block and keeps the text around them', () => {
    const text =
      'Let me check.\n<tool_call>\n{"name": "find_customer", "arguments": {"email": "ana@example.com"}}\n</tool_call>\n' +
      '<tool_call>{"name": "get_order", "arguments": {"order_id": "A1042"}}</tool_call> done';
    expect(parseToolCalls(text, 'hermes')).toEqual({
      attempts: [
        { kind: 'call', call: { name: 'find_customer', arguments: { email: 'ana@example.com' } } },
        { kind: 'call', call: { name: 'get_order', arguments: { order_id: 'A1042' } } },
      ],
      content: 'Let me check.\n\n done',
    });
  });

  it('reads plain text as no call, and "parameters" or no arguments as arguments', () => {
    expect(parseToolCalls('Your refund is on its way.', 'hermes')).toEqual({
      attempts: [],
      content: 'Your refund is on its way.',
    });
    const parsed = parseToolCalls(
      '<tool_call>{"name": "a", "parameters": {"x": 1}}</tool_call><tool_call>{"name": "b"}</tool_call>',
      'hermes',
    );
    expect(parsed.attempts).toEqual([
      { kind: 'call', call: { name: 'a', arguments: { x: 1 } } },
      { kind: 'call', call: { name: 'b', arguments: {} } },
    ]);
  });

  it('reports each malformed block with what is wrong, without throwing', () => {
    const cases: [string, RegExp][] = [
      ['<tool_call>{"name": "a", </tool_call>', /invalid JSON/],
      ['<tool_call>["a"]</tool_call>', /must be a JSON object/],
      ['<tool_call>{"arguments": {}}</tool_call>', /non-empty string "name"/],
      [
        '<tool_call>{"name": "a", "arguments": [1]}</tool_call>',
        /arguments of "a" must be a JSON object/,
      ],
      ['<tool_call>{"name": "a", "arguments": {}}', /without its closing/],
    ];
    for (const [text, message] of cases) {
      const parsed = parseToolCalls(text, 'hermes');
      expect(parsed.attempts).toHaveLength(1);
      const attempt = parsed.attempts[0]!;
      expect(attempt.kind).toBe('malformed');
      if (attempt.kind === 'malformed') expect(attempt.message).toMatch(message);
    }
  });
});

describe('parseToolCalls, llama3-json', () => {
  it('reads one object, an array, objects separated by ";" and the python tag', () => {
    expect(
      parseToolCalls('{"name": "get_order", "parameters": {"order_id": "A1"}}', 'llama3-json'),
    ).toEqual({
      attempts: [{ kind: 'call', call: { name: 'get_order', arguments: { order_id: 'A1' } } }],
      content: '',
    });
    const calls = [
      { kind: 'call', call: { name: 'a', arguments: { x: 1 } } },
      { kind: 'call', call: { name: 'b', arguments: {} } },
    ];
    expect(
      parseToolCalls(
        '[{"name": "a", "parameters": {"x": 1}}, {"name": "b", "parameters": {}}]',
        'llama3-json',
      ).attempts,
    ).toEqual(calls);
    expect(
      parseToolCalls(
        '{"name": "a", "parameters": {"x": 1}}; {"name": "b", "parameters": {}}',
        'llama3-json',
      ).attempts,
    ).toEqual(calls);
    expect(
      parseToolCalls('<|python_tag|>{"name": "a", "arguments": {"x": 1}}', 'llama3-json').attempts,
    ).toEqual([calls[0]]);
  });

  it('reads prose as no call and a broken JSON message as one malformed call', () => {
    expect(parseToolCalls('I refunded {the order}.', 'llama3-json').attempts).toEqual([]);
    const broken = parseToolCalls('{"name": "a", "parameters": {', 'llama3-json');
    expect(broken.attempts).toHaveLength(1);
    expect(broken.attempts[0]!.kind).toBe('malformed');
    expect(parseToolCalls('[]', 'llama3-json').attempts[0]!.kind).toBe('malformed');
  });

  it('rejects an unknown format by name', () => {
    expect(() => parseToolCalls('x', 'xml' as never)).toThrow(InvalidArgumentError);
    expect(() => parseToolCalls('x', 'xml' as never)).toThrow(/format = "xml"/);
  });
});

describe('formatToolCalls', () => {
  it('writes calls that parse back to themselves in both formats', () => {
    const calls = [
      { name: 'find_customer', arguments: { email: 'ana@example.com' } },
      { name: 'refund', arguments: { order_id: 'A1042', reason: 'broken "strap"' } },
    ];
    for (const format of ['hermes', 'llama3-json'] as const) {
      const attempts = parseToolCalls(formatToolCalls(calls, format), format).attempts;
      expect(attempts).toEqual(calls.map((call) => ({ kind: 'call', call })));
    }
    expect(formatToolCalls([calls[0]!], 'llama3-json')).toBe(
      '{"name":"find_customer","parameters":{"email":"ana@example.com"}}',
    );
  });
});
