/**
 * The agent program: an ordinary OpenAI-client agent with its own loop and a
 * tool. Nothing in it knows about Cohort; pointed at the gateway (its
 * `baseURL`), its calls are answered by the policy being trained.
 */
import type OpenAI from 'openai';
import {
  customerMessage,
  type OrderScenario,
  systemPrompt,
  trackOrder,
  trackOrderTool,
} from './order-desk';

/** What one conversation of the agent did. */
export interface OrderAgentRun {
  toolCalls: { name: string; arguments: unknown }[];
  reply: string;
}

/**
 * Answers one customer: asks the model, runs the tool calls it makes, and
 * asks again with their results, up to `maxCalls` model calls.
 */
export async function answerCustomer(
  client: OpenAI,
  scenario: OrderScenario,
  options: {
    model: string;
    temperature: number;
    maxTokens: number;
    seed: number;
    maxCalls?: number;
  },
): Promise<OrderAgentRun> {
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'system', content: systemPrompt },
    { role: 'user', content: customerMessage(scenario) },
  ];
  const toolCalls: OrderAgentRun['toolCalls'] = [];
  for (let call = 0; call < (options.maxCalls ?? 2); call++) {
    const completion = await client.chat.completions.create({
      model: options.model,
      messages,
      tools: [trackOrderTool],
      temperature: options.temperature,
      max_tokens: options.maxTokens,
      seed: options.seed + call,
    });
    const message = completion.choices[0]!.message;
    const calls = (message.tool_calls ?? []).filter((item) => item.type === 'function');
    if (calls.length === 0) return { toolCalls, reply: message.content ?? '' };
    messages.push({ role: 'assistant', content: message.content, tool_calls: calls });
    for (const item of calls) {
      const args = JSON.parse(item.function.arguments) as { order_id?: unknown };
      toolCalls.push({ name: item.function.name, arguments: args });
      messages.push({
        role: 'tool',
        tool_call_id: item.id,
        content:
          item.function.name === 'track_order'
            ? trackOrder(scenario, args.order_id)
            : JSON.stringify({ error: `no tool ${item.function.name}` }),
      });
    }
  }
  return { toolCalls, reply: '' };
}

/** The task's scorer, beside the agent: success when `track_order` was called with the stated number. */
export function scoreRun(
  scenario: OrderScenario,
  run: OrderAgentRun,
): { reward: number; success: boolean } {
  const success = run.toolCalls.some(
    (call) =>
      call.name === 'track_order' &&
      (call.arguments as { order_id?: unknown }).order_id === scenario.orderId,
  );
  return { reward: success ? 1 : 0, success };
}
