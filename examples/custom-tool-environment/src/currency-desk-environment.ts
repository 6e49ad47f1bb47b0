import { defineTool } from '@cohort/core';
import { createToolEnvironment, parseToolCalls } from '@cohort/environments';
import { z } from 'zod';

/** A question: convert `amount` from one currency to another. */
export interface CurrencyQuestion {
  id: string;
  amount: number;
  from: string;
  to: string;
}

// The desk's private rate table; the agent can only learn it through the tool.
const perEuro: Record<string, number> = {
  EUR: 1,
  USD: 1.0843,
  JPY: 162.37,
  GBP: 0.8571,
  CHF: 0.9412,
};

export const exchangeRate = defineTool({
  name: 'exchange_rate',
  description: 'How many units of `to` one unit of `from` buys.',
  parameters: z.object({
    from: z
      .enum(Object.keys(perEuro) as [string, ...string[]])
      .describe('Currency code, e.g. EUR.'),
    to: z.enum(Object.keys(perEuro) as [string, ...string[]]).describe('Currency code, e.g. JPY.'),
  }),
  execute: ({ from, to }) => ({ rate: perEuro[to]! / perEuro[from]! }),
});

/** The right answer, to two decimals, computed by code. */
export function expectedAnswer(question: CurrencyQuestion): string {
  return ((question.amount * perEuro[question.to]!) / perEuro[question.from]!).toFixed(2);
}

/**
 * The currency desk: the user asks for a conversion, the agent may call
 * `exchange_rate`, and the first reply without a tool call is its answer.
 * Success (reward 1) is that answer holding the right amount, checked by code.
 */
export function createCurrencyDeskEnvironment() {
  return createToolEnvironment<CurrencyQuestion>({
    name: 'currency-desk',
    format: 'hermes',
    toolTimeoutMs: 1000,
    maxAgentTurns: 4,
    createTask: ({ scenario }) => {
      let answer = '';
      return {
        systemPrompt:
          'You convert currencies. Use the tools; answer with the amount to two decimals.',
        openingMessage: `How much is ${scenario.amount} ${scenario.from} in ${scenario.to}?`,
        tools: [exchangeRate],
        respond: ({ agentMessage }) => {
          answer = parseToolCalls(agentMessage, 'hermes').content;
          const correct = answer.includes(expectedAnswer(scenario));
          return { done: true, endReason: correct ? 'success' : 'give-up' };
        },
        finish: ({ endReason }) => ({
          reward: endReason === 'success' ? 1 : 0,
          info: { answer },
        }),
      };
    },
  });
}
