import type { SupportDeskTask } from './support-desk-tasks';

/** What the scripted customer answers to one agent message without tool calls. */
export interface SupportDeskUserReply {
  message: string;
  /** True when the customer ends the conversation (the agent asked for nothing). */
  done: boolean;
}

/** Which of the customer's facts an agent message asks for. */
export interface SupportDeskAskedFacts {
  email: boolean;
  orderId: boolean;
  name: boolean;
}

/**
 * Which facts an agent message asks for, by the words it uses: `email` (or
 * `e-mail`), `order number` / `order id` / `order #` / `order no`, `name`.
 * The one rule of what a customer may tell, shared by the scripted customer
 * and the LLM customer's leak check.
 */
export function supportDeskAskedFacts(agentText: string): SupportDeskAskedFacts {
  return {
    email: /e-?mail/i.test(agentText),
    orderId: /order\s*(?:number|id|#|no\b)/i.test(agentText),
    name: /\bname\b/i.test(agentText),
  };
}

/**
 * The scripted customer of a support desk task. It tells what the agent asks
 * for and nothing else: its email when the message mentions an email, its
 * order number (or that it does not have it) when it mentions an order
 * number or id, its name when it mentions a name. A message that asks for
 * none of these is taken as the agent's answer, and the customer ends the
 * conversation with thanks. `askedBefore` counts earlier messages that asked
 * for something; after `patience` of them the customer gives up.
 *
 * @example
 * ```ts
 * supportDeskUserReply(task, 'Could you tell me your email and order number?', 0);
 * // { message: 'My email is ana.silva7@example.com. I do not have the order number.', done: false }
 * ```
 */
export function supportDeskUserReply(
  task: SupportDeskTask,
  agentText: string,
  askedBefore: number,
  patience = 4,
): SupportDeskUserReply {
  const parts: string[] = [];
  const asked = supportDeskAskedFacts(agentText);
  if (asked.email) parts.push(`My email is ${task.user.email}.`);
  if (asked.orderId) {
    parts.push(
      task.user.knowsOrderId
        ? `The order number is ${task.user.orderId}.`
        : 'I do not have the order number.',
    );
  }
  if (asked.name) parts.push(`My name is ${task.user.name}.`);
  if (parts.length === 0) return { message: 'Thank you.', done: true };
  if (askedBefore >= patience) return { message: 'This is taking too long, goodbye.', done: true };
  return { message: parts.join(' '), done: false };
}
