import type { ChatCompletionRequest, ChatModel, Message } from '@cohort/core';
import { ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { formatCents } from './support-desk-database';
import { createSupportDeskEnvironment } from './support-desk-environment';
import {
  checkSupportDeskUserTurn,
  createSupportDeskLlmUser,
  supportDeskUserPrompt,
} from './support-desk-llm-user';
import { supportDeskReferenceReply } from './support-desk-reference-agent';
import { type SupportDeskTask, supportDeskTasks } from './support-desk-tasks';
import { supportDeskUserReply } from './support-desk-user';

const tasks = supportDeskTasks({ split: 'eval' });
const knowing = tasks.find((task) => task.user.knowsOrderId && task.kind === 'refund')!;
const unknowing = tasks.find((task) => !task.user.knowsOrderId && task.kind === 'exchange')!;
const stop = '###STOP###';

/** A conversation as the environment holds it: system prompt, a tool call and its result, words to the customer. */
function conversation(task: SupportDeskTask, lastAgent: string): Message[] {
  return [
    { role: 'system', content: 'SYSTEM PROMPT of the agent' },
    { role: 'user', content: task.user.opening },
    { role: 'assistant', content: '<tool_call>{"name":"find_customer"}</tool_call>' },
    { role: 'tool', content: '{"orders":["A0000"]}' },
    { role: 'assistant', content: lastAgent },
  ];
}

/** What the customer is given to answer `agentMessage` in {@link conversation}. */
function inputFor(task: SupportDeskTask, agentMessage: string, askedBefore: number, seed: number) {
  return {
    task,
    agentMessage,
    messages: conversation(task, agentMessage),
    askedBefore,
    patience: 4,
    seed,
  };
}

/** A model that answers with the texts given, in turn, and records what it was asked. */
function answering(...texts: string[]): ChatModel & { requests: ChatCompletionRequest[] } {
  const requests: ChatCompletionRequest[] = [];
  return {
    name: 'fixed',
    requests,
    async complete(request) {
      requests.push(request);
      return texts[(requests.length - 1) % texts.length] ?? '';
    },
  };
}

describe('supportDeskUserPrompt', () => {
  it('holds the facts the customer knows and what it wants, and nothing the agent must find', () => {
    for (const task of [knowing, unknowing]) {
      const [system, ...turns] = supportDeskUserPrompt({
        task,
        messages: conversation(task, 'Could you tell me your email?'),
        stopMarker: stop,
        historyMessages: 8,
      });
      const text = system!.content;
      expect(text).toContain(task.user.name);
      expect(text).toContain(task.user.email);
      expect(text).toContain(task.database.policy.storeName);
      expect(text).toContain(stop);
      const order = task.database.orders.find((item) => item.id === task.user.orderId)!;
      const product = task.database.products.find((item) => item.id === order.productId)!;
      expect(text).toContain(product.line);
      // Held back: every other order id, the order id the customer does not know, the policy's numbers, the amounts.
      for (const other of task.database.orders) {
        if (other.id === task.user.orderId && task.user.knowsOrderId) continue;
        expect(text).not.toContain(other.id);
      }
      for (const customer of task.database.customers) {
        if (customer.email !== task.user.email) expect(text).not.toContain(customer.email);
      }
      const { storeName: _, ...numbers } = task.database.policy;
      for (const value of Object.values(numbers))
        expect(text).not.toMatch(new RegExp(`\\b${value}\\b`));
      for (const item of task.database.products)
        expect(text).not.toContain(formatCents(item.priceCents));
      if (task.facts.amount) expect(text).not.toContain(task.facts.amount);
      // The customer sees neither the agent's system prompt nor its tool calls and results; roles are swapped.
      expect(turns).toEqual([
        { role: 'assistant', content: task.user.opening },
        { role: 'user', content: 'Could you tell me your email?' },
      ]);
    }
    expect(
      supportDeskUserPrompt({
        task: knowing,
        messages: [],
        stopMarker: stop,
        historyMessages: 1,
      })[0]!.content,
    ).toContain(knowing.user.orderId);
    const exchange = supportDeskUserPrompt({
      task: unknowing,
      messages: [],
      stopMarker: stop,
      historyMessages: 1,
    })[0]!.content;
    expect(exchange).toContain('do not have your order number');
    const wanted = unknowing.database.products.find(
      (item) => item.id === unknowing.expectedActions[0]!.productId,
    )!;
    expect(exchange).toContain(`for the ${wanted.name}`);
  });

  it('keeps only the last historyMessages messages', () => {
    const messages = conversation(knowing, 'What is your name?');
    const [, ...turns] = supportDeskUserPrompt({
      task: knowing,
      messages,
      stopMarker: stop,
      historyMessages: 1,
    });
    expect(turns).toEqual([{ role: 'user', content: 'What is your name?' }]);
  });
});

describe('checkSupportDeskUserTurn', () => {
  const check = (task: SupportDeskTask, lastAgent: string, text: string, maxCharacters = 400) =>
    checkSupportDeskUserTurn({
      task,
      text,
      messages: conversation(task, lastAgent),
      maxCharacters,
      stopMarker: stop,
    });

  it('passes an answer that tells what was asked, and ends on the stop marker', () => {
    expect(
      check(knowing, 'What is your order number?', ` It is ${knowing.user.orderId}. `),
    ).toEqual({
      kind: 'reply',
      message: `It is ${knowing.user.orderId}.`,
    });
    expect(check(knowing, 'Your email please?', `Sure: ${knowing.user.email}`).kind).toBe('reply');
    expect(check(knowing, 'And your full name?', `I am ${knowing.user.name}.`).kind).toBe('reply');
    expect(check(knowing, 'Refunded.', `Great, thanks! ${stop}`)).toEqual({
      kind: 'stop',
      message: 'Great, thanks!',
    });
    expect(check(knowing, 'Refunded.', stop)).toEqual({ kind: 'stop', message: '' });
  });

  it('refuses an empty or a too long answer, naming the length', () => {
    expect(check(knowing, 'Hello?', '   ')).toMatchObject({ kind: 'fallback', reason: 'empty' });
    expect(check(knowing, 'Hello?', 'x'.repeat(41), 40)).toEqual({
      kind: 'fallback',
      reason: 'too-long',
      detail: '41 characters, more than maxCharacters 40',
    });
    expect(check(knowing, 'Hello?', 'x'.repeat(40), 40).kind).toBe('reply');
  });

  it('refuses a fact that was not asked for, an order id the customer does not know or that is not its own', () => {
    const id = knowing.user.orderId;
    expect(
      check(knowing, 'What is your email?', `Email is ${knowing.user.email}, order ${id}.`),
    ).toMatchObject({
      kind: 'fallback',
      reason: 'leak',
      detail: `order id ${id}, not asked for`,
    });
    expect(check(knowing, 'What is your order number?', `${knowing.user.email}`)).toMatchObject({
      reason: 'leak',
      detail: `the email ${knowing.user.email}, not asked for`,
    });
    expect(check(knowing, 'How can I help?', `I am ${knowing.user.name}.`)).toMatchObject({
      reason: 'leak',
    });
    const other = knowing.database.orders.find((order) => order.id !== id)!.id;
    expect(check(knowing, 'What is your order number?', `It is ${other}.`)).toMatchObject({
      reason: 'leak',
      detail: `order id ${other}, not the customer's`,
    });
    expect(check(knowing, 'What is your order number?', 'It is A0001.')).toMatchObject({
      reason: 'leak',
    });
    expect(
      check(unknowing, 'What is your order number?', `It is ${unknowing.user.orderId}.`),
    ).toMatchObject({
      reason: 'leak',
      detail: `order id ${unknowing.user.orderId}, which the customer does not know`,
    });
    // What the conversation already holds may be repeated: the agent said the id, the customer confirms it.
    expect(
      check(
        unknowing,
        `I found order ${unknowing.user.orderId}, is that it?`,
        `Yes, ${unknowing.user.orderId}.`,
      ).kind,
    ).toBe('reply');
    // An id seen only in a tool result is not something the customer saw.
    expect(check(knowing, 'Is that all?', 'Yes, A0000.')).toMatchObject({ reason: 'leak' });
  });
});

describe('SupportDeskLlmUser', () => {
  it('refuses bad options by name', () => {
    expect(() => createSupportDeskLlmUser({ model: answering('hi'), temperature: -1 })).toThrow(
      ValidationError,
    );
    expect(() => createSupportDeskLlmUser({ model: answering('hi'), temperature: -1 })).toThrow(
      /temperature/,
    );
    expect(() => createSupportDeskLlmUser({ model: {} as ChatModel })).toThrow(/model/);
    expect(() => createSupportDeskLlmUser({ model: answering('hi'), maxCharacters: 0 })).toThrow(
      /maxCharacters/,
    );
  });

  it('passes the model answers on, falls back to the scripted customer with a counted reason, and gives up by patience', async () => {
    const id = knowing.user.orderId;
    const model = answering(
      `It is ${id}.`,
      '',
      'y'.repeat(50),
      `Mail ${knowing.user.email}`,
      `Thanks ${stop}`,
    );
    const user = createSupportDeskLlmUser({
      model,
      maxCharacters: 40,
      temperature: 0.3,
      maxTokens: 20,
    });
    const agentMessage = 'What is your order number?';
    const input = inputFor(knowing, agentMessage, 0, 7);
    const scripted = supportDeskUserReply(knowing, agentMessage, 0, 4);
    expect(await user.reply(input)).toEqual({ message: `It is ${id}.`, done: false });
    expect(await user.reply(input)).toEqual(scripted);
    expect(await user.reply(input)).toEqual(scripted);
    expect(await user.reply(input)).toEqual(scripted);
    expect(await user.reply(input)).toEqual({ message: 'Thanks', done: true });
    expect(await user.reply({ ...input, askedBefore: 4 })).toEqual({
      message: 'This is taking too long, goodbye.',
      done: true,
    });
    expect(model.requests).toHaveLength(5);
    expect(model.requests[0]).toMatchObject({ temperature: 0.3, maxTokens: 20, seed: 7 });
    expect(user.calls.map((call) => call.fallback ?? call.outcome)).toEqual([
      'reply',
      'empty',
      'too-long',
      'leak',
      'stop',
    ]);
    expect(user.counts()).toMatchObject({
      calls: 5,
      cached: 0,
      replies: 1,
      stops: 1,
      fallbacks: 3,
      fallbacksByReason: { empty: 1, 'too-long': 1, leak: 1, timeout: 0, request: 0 },
      gaveUp: 1,
    });
  });

  it('abandons a call past the timeout and a failing one, and counts each', async () => {
    const slow: ChatModel = {
      name: 'slow',
      complete: (request) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve('late'), 5000);
          request.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new Error('aborted'));
          });
        }),
    };
    const broken: ChatModel = {
      name: 'broken',
      complete: () => Promise.reject(new Error('HTTP 500')),
    };
    const agentMessage = 'Your email?';
    const input = inputFor(knowing, agentMessage, 1, 1);
    const scripted = supportDeskUserReply(knowing, agentMessage, 1, 4);
    const slowUser = createSupportDeskLlmUser({ model: slow, timeoutMs: 50 });
    const started = performance.now();
    expect(await slowUser.reply(input)).toEqual(scripted);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(slowUser.calls[0]).toMatchObject({
      outcome: 'fallback',
      fallback: 'timeout',
      detail: 'no answer within 50 ms',
    });
    const brokenUser = createSupportDeskLlmUser({ model: broken });
    expect(await brokenUser.reply(input)).toEqual(scripted);
    expect(brokenUser.counts().fallbacksByReason).toMatchObject({ request: 1, timeout: 0 });
    expect(brokenUser.calls[0]!.detail).toBe('HTTP 500');
  });

  it('answers from the cache for the same prompt and seed, and asks again for another seed', async () => {
    const model = answering('first', 'second');
    const user = createSupportDeskLlmUser({ model, cache: new Map() });
    const agentMessage = 'Anything else?';
    const input = inputFor(knowing, agentMessage, 0, 3);
    expect((await user.reply(input)).message).toBe('first');
    expect((await user.reply(input)).message).toBe('first');
    expect((await user.reply({ ...input, seed: 4 })).message).toBe('second');
    expect(model.requests).toHaveLength(2);
    expect(user.counts()).toMatchObject({ calls: 3, cached: 1 });
    expect(user.calls[1]).toMatchObject({ cached: true, durationMs: 0 });
  });
});

/**
 * A rule-following customer model: it reads the facts from its system prompt
 * and tells what the agent's last message asks for, or ends. It stands for a
 * capable model, so the environment's wiring is tested end to end.
 */
const ruleCustomer: ChatModel = {
  name: 'rule-customer',
  async complete({ messages }) {
    const system = messages[0]!.content;
    const last = messages.at(-1)!.content;
    const fact = (label: string) => new RegExp(`- your ${label}: (.+)`).exec(system)?.[1];
    const parts: string[] = [];
    if (/e-?mail/i.test(last)) parts.push(`It is ${fact('email')}.`);
    if (/order\s*(?:number|id)/i.test(last))
      parts.push(fact('order number') ? `Order ${fact('order number')}.` : 'I do not have it.');
    if (/\bname\b/i.test(last)) parts.push(`I am ${fact('name')}.`);
    return parts.length > 0 ? parts.join(' ') : `Thank you! ${stop}`;
  },
};

describe('the support desk with an LLM customer', () => {
  it('lets the reference agent solve every held-out task, with every answer from the model', async () => {
    const user = createSupportDeskLlmUser({ model: ruleCustomer });
    const environment = createSupportDeskEnvironment({ user });
    let successes = 0;
    for (const [index, task] of tasks.entries()) {
      const episode = await environment.reset({ scenario: task, seed: index });
      let last: Awaited<ReturnType<typeof episode.step>> | undefined;
      while (!episode.done) last = await episode.step(supportDeskReferenceReply(episode.messages));
      if (last?.info?.taskSuccess === true) successes += 1;
      expect(episode.endReason).toBe('success');
    }
    expect(successes).toBe(tasks.length);
    const counts = user.counts();
    expect(counts.fallbacks).toBe(0);
    expect(counts.stops).toBe(tasks.length);
    expect(counts.replies).toBeGreaterThanOrEqual(tasks.length);
  });

  it('draws a different seed for each answer from the episode seed, the same for the same seed', async () => {
    const seeds = async (seed: number) => {
      const model = answering('What?');
      const environment = createSupportDeskEnvironment({
        user: createSupportDeskLlmUser({ model }),
        patience: 2,
      });
      const episode = await environment.reset({ scenario: knowing, seed });
      while (!episode.done) await episode.step('How can I help you today?');
      return model.requests.map((request) => request.seed);
    };
    const first = await seeds(5);
    expect(first).toHaveLength(2);
    expect(new Set(first).size).toBe(2);
    expect(await seeds(5)).toEqual(first);
    expect(await seeds(6)).not.toEqual(first);
  });
});
