import type { Message } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { copyFragments } from './copy-fragments';

const system: Message = {
  role: 'system',
  content: 'Support agent. Never guess an order id A0000.',
};
const opening: Message = { role: 'user', content: 'Hi, I want a refund.' };
const ask: Message = { role: 'assistant', content: 'Could you tell me your email?' };
const email: Message = { role: 'user', content: 'My email is ana.silva7@example.com.' };
const find: Message = {
  role: 'assistant',
  content:
    '<tool_call>{"name":"find_customer","arguments":{"email":"ana.silva7@example.com"}}</tool_call>',
};
const found: Message = {
  role: 'tool',
  content: '{"orders":[{"order_id":"A1234"},{"order_id":"A5678"}]}',
};
const read: Message = {
  role: 'assistant',
  content: '<tool_call>{"name":"get_order","arguments":{"order_id":"A5678"}}</tool_call>',
};
const order: Message = { role: 'tool', content: '{"order_id":"A5678","total":"$12.00"}' };
const done: Message = { role: 'assistant', content: 'I have refunded order A5678: $12.00.' };

describe('copyFragments', () => {
  it('pairs each agent turn that writes an id or email with the latest earlier message holding it', () => {
    expect(copyFragments([[system, opening, ask, email, find, found, read, order, done]])).toEqual([
      [email, find],
      [found, read],
      [order, done],
    ]);
  });

  it('skips turns that copy nothing, ids found only in the system prompt or an agent turn, and invented ids', () => {
    const invented: Message = { role: 'assistant', content: 'I have refunded order A9999.' };
    const fromSystem: Message = { role: 'assistant', content: 'Not A0000, then.' };
    const repeated: Message = { role: 'assistant', content: 'Again, ana.silva7@example.com.' };
    expect(copyFragments([[system, opening, ask, fromSystem, invented]])).toEqual([]);
    // The repeat copies from the customer's message, not from the agent's own earlier call.
    expect(copyFragments([[system, email, find, repeated]])).toEqual([
      [email, find],
      [email, repeated],
    ]);
    // Fragments are copies: changing them leaves the dialogue as it was.
    const dialogue = [system, email, find];
    const [fragment] = copyFragments([dialogue]);
    fragment![0]!.content = 'changed';
    expect(dialogue[1]!.content).toBe('My email is ana.silva7@example.com.');
  });
});
