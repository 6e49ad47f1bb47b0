import { Random } from '@cohort/core';
import {
  createSupportDeskEnvironment,
  parseToolCalls,
  supportDeskReferenceReply,
  supportDeskTasks,
} from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import { withDecisionBasis } from './decision-basis';
import { withRandomPolicies } from './sft-task-variants';

const environment = createSupportDeskEnvironment({ toolPrompt: 'signatures' });

describe('withDecisionBasis', () => {
  it('states the request and the window comparison before every action call, and the reference agent still solves every task', async () => {
    const random = new Random(2);
    const tasks = [
      ...supportDeskTasks({ split: 'train', count: 20, seed: 5 }).map((task) =>
        withRandomPolicies(task, random),
      ),
      ...supportDeskTasks({ split: 'eval', count: 20 }),
    ];
    const basisPerKind = new Map<string, string[]>();
    for (const [index, task] of tasks.entries()) {
      const episode = await environment.reset({ scenario: task, seed: index });
      const reply = () =>
        withDecisionBasis(episode.messages, supportDeskReferenceReply(episode.messages));
      let result = await episode.step(reply());
      while (!result.done) result = await episode.step(reply());
      expect(result.endReason).toBe('success');
      expect(result.info?.taskSuccess).toBe(true);
      const order = task.database.orders.find((item) => item.id === task.user.orderId)!;
      const window = task.database.policy.returnWindowDays;
      const withBasis = episode.messages.filter(
        (message) => message.role === 'assistant' && message.content.startsWith('Request: '),
      );
      // One action per task, except a shipped order's cancel, which is answered in words.
      expect(withBasis).toHaveLength(task.kind === 'shipped-cancel' ? 0 : 1);
      for (const message of withBasis) {
        const basis = message.content.split('\n')[0]!;
        basisPerKind.set(task.kind, [...(basisPerKind.get(task.kind) ?? []), basis]);
        const expected = {
          refund: `Request: refund. Delivered: ${order.deliveredDaysAgo}. Window: ${window}. Inside.`,
          exchange: `Request: exchange. Delivered: ${order.deliveredDaysAgo}. Window: ${window}. Inside.`,
          'late-refund': `Request: refund. Delivered: ${order.deliveredDaysAgo}. Window: ${window}. Outside.`,
          cancel: 'Request: cancel. Status: processing.',
        }[task.kind as 'refund' | 'exchange' | 'late-refund' | 'cancel'];
        expect(basis).toBe(expected);
        // The call is the reference agent's, unchanged, and the basis is no words to the customer the check counts.
        const parsed = parseToolCalls(message.content, 'hermes');
        expect(parsed.attempts).toHaveLength(1);
        expect(parsed.attempts[0]!.kind).toBe('call');
        expect(basis).not.toMatch(/\d+\s*days?\b|A\d{4}/);
      }
    }
    expect([...basisPerKind.keys()].sort()).toEqual([
      'cancel',
      'exchange',
      'late-refund',
      'refund',
    ]);
  });

  it('leaves replies that are not an action call after a read unchanged', () => {
    const call = '<tool_call>\n{"name":"refund","arguments":{"order_id":"A1234"}}\n</tool_call>';
    const system = {
      role: 'system' as const,
      content: 'Refund or exchange within 30 days of delivery.',
    };
    const opening = { role: 'user' as const, content: 'I want a refund please.' };
    // No order read yet: nothing to state.
    expect(withDecisionBasis([system, opening], call)).toBe(call);
    const read = [
      system,
      opening,
      {
        role: 'assistant' as const,
        content: '<tool_call>{"name":"get_order","arguments":{"order_id":"A1234"}}</tool_call>',
      },
      {
        role: 'tool' as const,
        content: '{"order_id":"A1234","status":"delivered","delivered_days_ago":31}',
      },
    ];
    for (const reply of [
      'Which order is it?',
      '<tool_call>\n{"name":"get_order","arguments":{"order_id":"A1234"}}\n</tool_call>',
    ])
      expect(withDecisionBasis(read, reply)).toBe(reply);
    // 31 days against a 30-day window: outside.
    expect(withDecisionBasis(read, call)).toBe(
      `Request: refund. Delivered: 31. Window: 30. Outside.\n${call}`,
    );
  });
});
