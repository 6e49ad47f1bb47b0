import {
  InvalidArgumentError,
  type Message,
  type ToolCall,
  type ToolCallFormat,
} from '@cohort/core';
import { SupportDeskEnvironment } from './support-desk-environment';
import { productLine, type SupportDeskTask } from './support-desk-tasks';
import { formatToolCalls, parseToolCalls } from './tool-call-parser';
import type { ToolPromptStyle } from './tool-prompt';

interface OrderView {
  order_id: string;
  product: string;
  status: string;
  delivered_days_ago: number | null;
  exchange_options: { product_id: string; name: string }[];
}

interface Observed {
  system: string;
  opening: string;
  email?: string;
  orderId?: string;
  customer?: { orders: { order_id: string; product: string }[] };
  order?: OrderView;
  outcome?: { tool: string; result: Record<string, unknown> };
}

/** The support desk's action tools: the calls that change the database (the others only read it). */
export const supportDeskActionTools: ReadonlySet<string> = new Set([
  'refund',
  'cancel',
  'exchange',
  'escalate',
]);

/** What the customer asks for, as the reference agent reads the opening message: cancel, exchange, else refund. */
export function supportDeskRequest(opening: string): 'cancel' | 'exchange' | 'refund' {
  return /cancel/i.test(opening) ? 'cancel' : /exchange/i.test(opening) ? 'exchange' : 'refund';
}

/** The return window in days that the system prompt's policy states (`within N days of delivery`); NaN without one. */
export function supportDeskReturnWindow(system: string): number {
  const match = /within (\d+) days of delivery/.exec(system);
  return match ? Number(match[1]) : Number.NaN;
}

/** Reads what the agent knows from the conversation: the customer's words and the tool results. */
function observe(messages: readonly Message[], format: ToolCallFormat): Observed {
  const observed: Observed = {
    system: messages[0]?.content ?? '',
    opening: messages.find((message) => message.role === 'user')?.content ?? '',
  };
  let pending: ToolCall[] = [];
  for (const message of messages) {
    if (message.role === 'user') {
      observed.email ??= /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/.exec(message.content)?.[0];
      observed.orderId ??= /\bA\d{4}\b/.exec(message.content)?.[0];
    } else if (message.role === 'assistant') {
      pending = parseToolCalls(message.content, format).attempts.flatMap((attempt) =>
        attempt.kind === 'call' ? [attempt.call] : [],
      );
    } else if (message.role === 'tool') {
      const call = pending.shift();
      let result: unknown;
      try {
        result = JSON.parse(message.content);
      } catch {
        continue;
      }
      if (
        call === undefined ||
        typeof result !== 'object' ||
        result === null ||
        'error' in result
      ) {
        continue;
      }
      if (call.name === 'find_customer') observed.customer = result as Observed['customer'];
      else if (call.name === 'get_order') observed.order = result as OrderView;
      else if (supportDeskActionTools.has(call.name)) {
        observed.outcome = { tool: call.name, result: result as Record<string, unknown> };
      }
    }
  }
  return observed;
}

function finalMessage(observed: Observed): string {
  const { tool, result } = observed.outcome!;
  const order = observed.order!;
  if (tool === 'refund' || tool === 'cancel') {
    const done = tool === 'refund' ? 'refunded' : 'cancelled';
    return `I have ${done} order ${order.order_id}: ${String(result.refunded)} will reach your account within ${String(result.arrives_in_business_days)} business days.`;
  }
  if (tool === 'exchange') {
    return `I have exchanged order ${order.order_id} for the ${String(result.new_product)}; it ships within ${String(result.ships_within_days)} days.`;
  }
  const window = supportDeskReturnWindow(observed.system);
  return `Order ${order.order_id} was delivered ${order.delivered_days_ago} days ago, outside our ${window}-day return window, so I have passed it to a specialist, who will answer within ${String(result.specialist_answers_within_days)} days.`;
}

/** The next step of the reference agent: a tool call, or words to the customer. */
function decide(observed: Observed): ToolCall | string {
  if (observed.outcome) return finalMessage(observed);
  const order = observed.order;
  if (order === undefined) {
    if (observed.orderId) return { name: 'get_order', arguments: { order_id: observed.orderId } };
    if (observed.customer) {
      const opening = observed.opening.toLowerCase();
      const match = observed.customer.orders.find((item) =>
        opening.includes(productLine(item.product).toLowerCase()),
      );
      if (match) return { name: 'get_order', arguments: { order_id: match.order_id } };
      return 'Which of your orders is it about? Please tell me the order number.';
    }
    if (observed.email) return { name: 'find_customer', arguments: { email: observed.email } };
    return 'I can help with that. Could you tell me the email address on your account, and the order number if you have it?';
  }
  const window = supportDeskReturnWindow(observed.system);
  const intent = supportDeskRequest(observed.opening);
  const inWindow =
    order.status === 'delivered' &&
    order.delivered_days_ago !== null &&
    order.delivered_days_ago <= window;
  if (intent === 'cancel') {
    if (order.status === 'processing') {
      return { name: 'cancel', arguments: { order_id: order.order_id } };
    }
    return `Order ${order.order_id} has already shipped, so it can no longer be cancelled. Once it arrives you can return it within ${window} days of delivery.`;
  }
  if (intent === 'exchange' && inWindow) {
    const colour = /for the (\w+) one|want the (\w+) one/i.exec(observed.opening);
    const wanted = (colour?.[1] ?? colour?.[2] ?? '').toLowerCase();
    const option = order.exchange_options.find((item) =>
      item.name.toLowerCase().endsWith(`(${wanted})`),
    );
    if (option) {
      return {
        name: 'exchange',
        arguments: { order_id: order.order_id, product_id: option.product_id },
      };
    }
  }
  if (inWindow) return { name: 'refund', arguments: { order_id: order.order_id } };
  return {
    name: 'escalate',
    arguments: {
      order_id: order.order_id,
      reason: `${intent} asked ${order.delivered_days_ago ?? 'an unknown number of'} days after delivery, outside the ${window}-day window`,
    },
  };
}

/**
 * The reference agent of the support desk: it solves a task with tool calls,
 * reading only what an agent sees (the system prompt's policy, the customer's
 * messages, the tool results). It asks for the email and order number, finds
 * the customer, picks the order of the product the customer named, reads it,
 * applies the policy (refund or exchange inside the return window, cancel
 * while processing, explain a shipped order, escalate the rest) and tells the
 * amount and days that the tools returned.
 *
 * It is the upper baseline of the tests (success 1.0 on every train and
 * held-out task) and the teacher of supervised tool-use dialogues.
 *
 * @example
 * ```ts
 * while (!episode.done) await episode.step(supportDeskReferenceReply(episode.messages));
 * ```
 */
export function supportDeskReferenceReply(
  messages: readonly Message[],
  format: ToolCallFormat = 'hermes',
): string {
  const next = decide(observe(messages, format));
  return typeof next === 'string' ? next : formatToolCalls([next], format);
}

/** Options of {@link generateSupportDeskDialogues}. */
export interface GenerateSupportDeskDialoguesOptions {
  tasks: readonly SupportDeskTask[];
  /** Seeds the episodes (task order is as given). */
  seed: number;
  format?: ToolCallFormat;
  /** How the tools (and with `signatures` the policy) are described in the system prompt (default `json-schema`); match the environment the model will meet. */
  toolPrompt?: ToolPromptStyle;
  /**
   * The agent's turn, given the conversation and the reference agent's reply
   * (default: the reference reply). An imperfect agent here makes imperfect
   * data; dialogues are then kept whatever their outcome.
   */
  reply?: (context: {
    messages: readonly Message[];
    reference: string;
    taskIndex: number;
  }) => string;
}

/**
 * Full conversations of the reference agent on support desk tasks, tool calls
 * and tool results included (`[system, user, assistant, tool, ..., assistant]`,
 * the customer's closing thanks left out): supervised data that teaches a
 * model the tool format and the policy. Deterministic for a seed; a task the
 * reference agent does not solve is an error, so the data holds only successes
 * (unless `reply` replaces the agent: its dialogues are kept as they end).
 *
 * @example
 * ```ts
 * const dialogues = await generateSupportDeskDialogues({ tasks: supportDeskTasks({ split: 'train' }), seed: 1 });
 * ```
 */
export async function generateSupportDeskDialogues(
  options: GenerateSupportDeskDialoguesOptions,
): Promise<Message[][]> {
  const format = options.format ?? 'hermes';
  const environment = new SupportDeskEnvironment({
    format,
    ...(options.toolPrompt ? { toolPrompt: options.toolPrompt } : {}),
  });
  const dialogues: Message[][] = [];
  for (const [index, task] of options.tasks.entries()) {
    const episode = await environment.reset({ scenario: task, seed: options.seed + index });
    while (!episode.done) {
      const reference = supportDeskReferenceReply(episode.messages, format);
      await episode.step(
        options.reply
          ? options.reply({ messages: episode.messages, reference, taskIndex: index })
          : reference,
      );
    }
    if (options.reply === undefined && episode.endReason !== 'success') {
      throw new InvalidArgumentError({
        argument: 'tasks',
        value: task.id,
        message: `the reference agent did not solve this task (it ended with ${episode.endReason})`,
      });
    }
    dialogues.push(episode.messages.map((message) => ({ ...message })));
  }
  return dialogues;
}
