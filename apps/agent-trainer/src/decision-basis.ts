import type { Message } from '@cohort/core';
import {
  parseToolCalls,
  supportDeskActionTools,
  supportDeskRequest,
  supportDeskReturnWindow,
} from '@cohort/environments';

interface OrderRecord {
  status?: unknown;
  delivered_days_ago?: unknown;
}

/** The last `get_order` record among the tool results of `messages`, if any. */
function lastOrderRecord(messages: readonly Message[]): OrderRecord | undefined {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index]!;
    if (message.role !== 'tool') continue;
    try {
      const record = JSON.parse(message.content) as unknown;
      if (typeof record === 'object' && record !== null && 'delivered_days_ago' in record)
        return record as OrderRecord;
    } catch {}
  }
  return undefined;
}

/**
 * The reference agent's action call with the basis of its choice stated
 * first, in the same message (`Request: refund. Delivered: 12. Window: 30.
 * Inside.` then the `<tool_call>`): the customer's request as the reference
 * agent reads it (cancel, exchange or refund, from the opening), and for a
 * delivered order its days since delivery, the policy's return window and
 * their comparison; for any other order its status. Round 11's agent chose
 * among refund, exchange and escalate at its prior (the request -> action
 * link unlearned); with the basis each factor is a copy written next to the
 * call, and the action is a lookup of the two words just written. The basis
 * writes no `N days` and no order id, so the environment's check (days told,
 * invented ids) reads nothing from it. Any other reply is returned unchanged.
 *
 * @example
 * ```ts
 * withDecisionBasis(messages, '<tool_call>\n{"name":"refund",...}\n</tool_call>');
 * // 'Request: refund. Delivered: 12. Window: 30. Inside.\n<tool_call>...'
 * ```
 */
export function withDecisionBasis(messages: readonly Message[], reply: string): string {
  const { attempts, content } = parseToolCalls(reply, 'hermes');
  const call = attempts[0];
  if (
    attempts.length !== 1 ||
    content !== '' ||
    call?.kind !== 'call' ||
    !supportDeskActionTools.has(call.call.name)
  )
    return reply;
  const record = lastOrderRecord(messages);
  if (record === undefined) return reply;
  const opening = messages.find((message) => message.role === 'user')?.content ?? '';
  const request = supportDeskRequest(opening);
  const window = supportDeskReturnWindow(messages[0]?.content ?? '');
  const days = record.delivered_days_ago;
  const basis =
    record.status === 'delivered' && typeof days === 'number' && Number.isFinite(window)
      ? `Delivered: ${days}. Window: ${window}. ${days <= window ? 'Inside' : 'Outside'}.`
      : `Status: ${String(record.status)}.`;
  return `Request: ${request}. ${basis}\n${reply}`;
}
