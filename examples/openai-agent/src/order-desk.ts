/**
 * The order desk: a customer states an order number; the agent must look it
 * up with the `track_order` tool. Success, checked by code: the agent called
 * `track_order` with exactly the number the customer stated. It is a task a
 * tiny model can learn in seconds (the argument must match a fact the user
 * states), designed for the suite; the support desk of `@cohort/environments`
 * needs a larger model than a test can train.
 */
import { toolInstructionsFor } from '@cohort/environments';
import type OpenAI from 'openai';

/** One customer: who they are and the order they ask about. */
export interface OrderScenario {
  id: string;
  name: string;
  orderId: string;
}

/** The order numbers customers state. */
export const orderIds = ['K7', 'M2', 'P5', 'T9'] as const;

const names = ['Ana', 'Ben', 'Cleo', 'Dev', 'Eli', 'Fay', 'Gus', 'Hal'];

/**
 * Training and held-out customers: a held-out customer is a pairing of name
 * and order number never seen in training (each name and each number is, with
 * others), so the agent must read the number rather than recall the name.
 */
export function orderScenarios(split: 'train' | 'eval'): OrderScenario[] {
  return names.flatMap((name, nameIndex) =>
    orderIds.flatMap((orderId, orderIndex) =>
      ((nameIndex + orderIndex) % 4 === 0) === (split === 'eval')
        ? [{ id: `${name}-${orderId}`, name, orderId }]
        : [],
    ),
  );
}

/** What the customer writes. */
export function customerMessage(scenario: OrderScenario): string {
  return `I am ${scenario.name}. Where is my order ${scenario.orderId}?`;
}

export const systemPrompt = 'You are the order desk. Look orders up before you answer.';

/** The tool, as an OpenAI-style agent declares it. */
export const trackOrderTool: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'track_order',
    description: 'Where an order is.',
    parameters: {
      type: 'object',
      properties: { order_id: { type: 'string' } },
      required: ['order_id'],
    },
  },
};

/** The tool's implementation: the status of the order, or that there is none of that number. */
export function trackOrder(scenario: OrderScenario, orderId: unknown): string {
  return orderId === scenario.orderId
    ? JSON.stringify({ order_id: orderId, status: 'shipped', eta: 'tomorrow' })
    : JSON.stringify({ error: `no order ${String(orderId)} for ${scenario.name}` });
}

/**
 * The system message as the gateway renders it for a request with
 * `tools: [trackOrderTool]` and `toolPromptStyle: 'compact'`: the agent's
 * system prompt, then the Hermes call syntax and one line for the tool.
 */
export function renderedSystemMessage(): string {
  const { name, description, parameters } = trackOrderTool.function;
  const instructions = toolInstructionsFor(
    [
      {
        type: 'function',
        function: {
          description: description ?? '',
          parameters: parameters ?? {},
          name,
        },
      },
    ],
    'hermes',
    'compact',
  );
  return `${systemPrompt}\n\n${instructions}`;
}
