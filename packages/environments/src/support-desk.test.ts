import { Random, ValidationError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { checkSupportDeskEpisode, inventedOrderIds } from './support-desk-check';
import { SupportDeskBackend, supportDeskState } from './support-desk-database';
import { createSupportDeskEnvironment } from './support-desk-environment';
import {
  generateSupportDeskDialogues,
  supportDeskReferenceReply,
} from './support-desk-reference-agent';
import {
  expectedSupportDeskState,
  type SupportDeskTask,
  supportDeskTaskKinds,
  supportDeskTasks,
} from './support-desk-tasks';
import { supportDeskUserReply } from './support-desk-user';
import { formatToolCalls } from './tool-call-parser';
import type { ToolEpisode } from './tool-environment';

const train = supportDeskTasks({ split: 'train' });
const heldOut = supportDeskTasks({ split: 'eval' });

type Agent = (episode: ToolEpisode, random: Random, task: SupportDeskTask) => string;

async function successRate(
  tasks: readonly SupportDeskTask[],
  agent: Agent,
  options: Parameters<typeof createSupportDeskEnvironment>[0] = {},
) {
  const environment = createSupportDeskEnvironment(options);
  const random = new Random(11);
  let successes = 0;
  const episodes: ToolEpisode[] = [];
  for (const [index, task] of tasks.entries()) {
    const episode = await environment.reset({ scenario: task, seed: index });
    let last: Awaited<ReturnType<ToolEpisode['step']>> | undefined;
    while (!episode.done) last = await episode.step(agent(episode, random, task));
    if ((last?.info?.supportDesk as { success: boolean } | undefined)?.success) successes += 1;
    episodes.push(episode);
  }
  return { rate: successes / tasks.length, episodes };
}

describe('support desk tasks', () => {
  it('hold every kind, validate, and are reproducible', () => {
    expect(train).toHaveLength(40);
    expect(heldOut).toHaveLength(20);
    expect(supportDeskTasks({ split: 'train' })).toEqual(train);
    for (const kind of supportDeskTaskKinds) {
      expect(train.filter((task) => task.kind === kind)).toHaveLength(8);
      expect(heldOut.filter((task) => task.kind === kind)).toHaveLength(4);
    }
    for (const task of [...train, ...heldOut]) {
      const ids = task.database.orders.map((order) => order.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toContain(task.user.orderId);
    }
  });

  it('hold out customers, products, stores and policy numbers never seen in training', () => {
    const seen = (tasks: SupportDeskTask[]) => ({
      names: new Set(
        tasks.flatMap((task) => task.database.customers.map((item) => item.name.split(' ')[0])),
      ),
      lines: new Set(tasks.flatMap((task) => task.database.products.map((item) => item.line))),
      stores: new Set(tasks.map((task) => task.database.policy.storeName)),
      numbers: new Set(
        tasks.flatMap((task) => {
          const { storeName: _, ...numbers } = task.database.policy;
          return Object.values(numbers);
        }),
      ),
    });
    const a = seen(train);
    const b = seen(heldOut);
    for (const key of ['names', 'lines', 'stores', 'numbers'] as const) {
      expect([...b[key]].filter((item) => a[key].has(item as never))).toEqual([]);
    }
  });
});

describe('support desk backend and check', () => {
  it('applies the operations to its own copy and checks state and facts by code', () => {
    const task = train.find((item) => item.kind === 'refund')!;
    const order = task.database.orders.find((item) => item.id === task.user.orderId)!;
    const product = task.database.products.find((item) => item.id === order.productId)!;
    // The amount told is price times quantity, computed here independently.
    const cents = product.priceCents * order.quantity;
    expect(task.facts.amount).toBe(
      `$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
    );
    const backend = new SupportDeskBackend(task.database);
    expect(backend.refund(order.id)).toEqual({
      order_id: order.id,
      refunded: task.facts.amount,
      arrives_in_business_days: task.database.policy.refundDays,
    });
    expect(order.status).toBe('delivered');
    expect(() => backend.cancel(order.id)).toThrow(/refunded; only processing orders/);
    expect(() => backend.getOrder('A0000')).toThrow(/no order A0000/);
    expect(backend.state()).toEqual(expectedSupportDeskState(task));
    expect(supportDeskState(task.database)).not.toEqual(expectedSupportDeskState(task));

    const told = (text: string) =>
      checkSupportDeskEpisode({
        task,
        database: backend.database,
        actions: backend.actions,
        messages: [{ role: 'assistant', content: text }],
        format: 'hermes',
      });
    const days = task.database.policy.refundDays;
    expect(told(`Refunded ${task.facts.amount}, within ${days} business days.`).success).toBe(true);
    expect(told(`Refunded ${task.facts.amount!.slice(1)}, in ${days} days.`).success).toBe(true);
    expect(told(`Refunded ${task.facts.amount}, within ${days + 1} days.`).factsTold).toEqual({
      amount: true,
      days: false,
    });
    expect(
      told(`Refunded $1${task.facts.amount!.slice(1)}, within ${days} days.`).factsTold.amount,
    ).toBe(false);
    const invented = told(
      `Refunded A0001 and ${task.user.orderId}: ${task.facts.amount} in ${days} days.`,
    );
    expect(invented.inventedOrderIds).toEqual(
      task.database.orders.some((item) => item.id === 'A0001') ? [] : ['A0001'],
    );
  });

  it('tells the customer only what the agent asks for', () => {
    const task = { ...train[0]!, user: { ...train[0]!.user, knowsOrderId: false } };
    expect(supportDeskUserReply(task, 'What is your email?', 0)).toEqual({
      message: `My email is ${task.user.email}.`,
      done: false,
    });
    expect(supportDeskUserReply(task, 'Your order number and name, please.', 0).message).toBe(
      `I do not have the order number. My name is ${task.user.name}.`,
    );
    expect(supportDeskUserReply(task, 'Done, refunded.', 0)).toEqual({
      message: 'Thank you.',
      done: true,
    });
    expect(supportDeskUserReply(task, 'Your email?', 4).done).toBe(true);
  });

  it('refuses a bad task and bad options by field', async () => {
    const environment = createSupportDeskEnvironment();
    await expect(
      environment.reset({ scenario: { ...train[0]!, kind: 'upgrade' } as never, seed: 1 }),
    ).rejects.toThrow(ValidationError);
    expect(() => createSupportDeskEnvironment({ rewards: { wrongAction: -1 } })).toThrow(
      /rewards.wrongAction/,
    );
  });
});

describe('support desk agents', () => {
  const reference: Agent = (episode) => supportDeskReferenceReply(episode.messages);

  it('the reference agent succeeds on every train and held-out task, with no wrong or invented facts', async () => {
    for (const tasks of [train, heldOut]) {
      const { rate, episodes } = await successRate(tasks, reference);
      expect(rate).toBe(1);
      for (const episode of episodes) {
        const check = episode.finishInfo!.supportDesk as {
          wrongActions: unknown[];
          inventedOrderIds: unknown[];
        };
        expect(check.wrongActions).toEqual([]);
        expect(check.inventedOrderIds).toEqual([]);
        expect(episode.endReason).toBe('success');
        expect(episode.toolCalls.every((call) => call.error === undefined)).toBe(true);
      }
    }
  });

  it('the reference agent succeeds in the Llama 3.x JSON format and with compact tool prompts too', async () => {
    const agent: Agent = (episode) => supportDeskReferenceReply(episode.messages, 'llama3-json');
    expect((await successRate(heldOut, agent, { format: 'llama3-json' })).rate).toBe(1);
    const compact = await successRate(heldOut, reference, { toolPrompt: 'compact' });
    expect(compact.rate).toBe(1);
    expect(compact.episodes[0]!.messages[0]!.content).toContain(
      '- refund(order_id: string): Refunds',
    );
  });

  it('with signature tool prompts states the same policy numbers in a short prompt, and the reference agent still succeeds', async () => {
    const short = await successRate(heldOut, reference, { toolPrompt: 'signatures' });
    expect(short.rate).toBe(1);
    const full = await successRate(heldOut, reference, { toolPrompt: 'compact' });
    heldOut.forEach((task, index) => {
      const system = short.episodes[index]!.messages[0]!.content;
      expect(system).toContain('- exchange(order_id, product_id)');
      const { policy } = task.database;
      for (const value of [
        policy.storeName,
        `within ${policy.returnWindowDays} days of delivery`,
        `in ${policy.refundDays} business days`,
        `within ${policy.exchangeShipDays} days`,
        `within ${policy.escalationDays} days`,
      ]) {
        expect(system).toContain(value);
      }
      expect(system.length).toBeLessThan(full.episodes[index]!.messages[0]!.content.length / 2);
    });
  });

  it('an agent without tools and a random tool user do not succeed', async () => {
    const noTools: Agent = (episode, _, task) =>
      episode.messages.length < 3
        ? 'I am sorry to hear that. What is your email?'
        : `Done: ${task.facts.amount ?? '$10.00'} will reach you within ${task.facts.days} days.`;
    // Even told the facts, it changes nothing in the database: only the tasks where nothing must change pass.
    const withoutTools = await successRate([...train, ...heldOut], noTools);
    expect(withoutTools.rate).toBeCloseTo(12 / 60, 10);
    const shippedOnly = [...train, ...heldOut].filter((task) => task.kind === 'shipped-cancel');
    expect((await successRate(shippedOnly, noTools)).rate).toBe(1);

    const tools = ['find_customer', 'get_order', 'refund', 'cancel', 'exchange', 'escalate'];
    const randomAgent: Agent = (_episode, random, task) => {
      if (random.bernoulli(0.3))
        return `Refunded ${random.int(1, 99)}.00 within ${random.int(1, 20)} days.`;
      const orderId = random.choice(task.database.orders).id;
      const productId = random.choice(task.database.products).id;
      return formatToolCalls(
        [
          {
            name: random.choice(tools),
            arguments: {
              email: task.user.email,
              order_id: orderId,
              product_id: productId,
              reason: 'x',
            },
          },
        ],
        'hermes',
      );
    };
    const randomRun = await successRate([...train, ...heldOut], randomAgent);
    expect(randomRun.rate).toBeLessThan(0.15);
    expect(randomRun.episodes.filter((episode) => episode.endReason === 'success').length).toBe(
      Math.round(randomRun.rate * 60),
    );
  });

  it('rewards partial credit and penalizes wrong actions and invented order ids when asked', async () => {
    const task = train.find((item) => item.kind === 'refund')!;
    const wrongOrder = task.database.orders.find(
      (order) => order.id !== task.user.orderId && order.status === 'delivered',
    );
    const wrongId = wrongOrder?.id ?? 'A0000';
    const environment = createSupportDeskEnvironment({
      rewards: { success: 1, partialCredit: 0.5, wrongAction: 0.25, inventedOrderId: 0.1 },
    });
    const episode = await environment.reset({ scenario: task, seed: 3 });
    await episode.step(
      formatToolCalls([{ name: 'get_order', arguments: { order_id: 'A0000' } }], 'hermes'),
    );
    await episode.step(
      formatToolCalls([{ name: 'refund', arguments: { order_id: wrongId } }], 'hermes'),
    );
    await episode.step(
      formatToolCalls([{ name: 'refund', arguments: { order_id: task.user.orderId } }], 'hermes'),
    );
    const last = await episode.step(`Refunded ${task.facts.amount}.`);
    const check = last.info!.supportDesk as ReturnType<typeof checkSupportDeskEpisode>;
    expect(check.success).toBe(false);
    expect(check.inventedOrderIds).toEqual(['A0000']);
    expect(check.correctActions).toEqual([{ kind: 'refund', orderId: task.user.orderId }]);
    const wrongCount = wrongOrder ? 1 : 0;
    expect(check.wrongActions).toHaveLength(wrongCount);
    // One correct action and the amount, of one action and two facts.
    expect(check.partialCredit).toBeCloseTo(2 / 3, 12);
    expect(last.reward).toBeCloseTo(0.5 * (2 / 3) - 0.25 * wrongCount - 0.1, 12);
  });

  it('generates supervised dialogues with the tool calls and results, deterministically', async () => {
    const tasks = heldOut.slice(0, 5);
    const dialogues = await generateSupportDeskDialogues({ tasks, seed: 2 });
    expect(await generateSupportDeskDialogues({ tasks, seed: 2 })).toEqual(dialogues);
    for (const [index, dialogue] of dialogues.entries()) {
      expect(dialogue[0]!.role).toBe('system');
      expect(dialogue.at(-1)!.role).toBe('assistant');
      expect(dialogue.some((message) => message.role === 'tool')).toBe(true);
      expect(dialogue.at(-1)!.content).toContain(`${tasks[index]!.facts.days}`);
    }
  });

  it('generates dialogues of another agent from the reference reply, kept whatever their outcome, with compact tool prompts', async () => {
    const tasks = heldOut.slice(0, 4);
    const vague = 'Sorry to hear that.';
    const dialogues = await generateSupportDeskDialogues({
      tasks,
      seed: 3,
      toolPrompt: 'compact',
      // Task 1's agent answers vaguely at once: the customer leaves, the task is not done.
      reply: ({ reference, taskIndex }) => (taskIndex === 1 ? vague : reference),
    });
    expect(dialogues[0]![0]!.content).not.toContain('<tools>');
    expect(dialogues[1]!.filter((message) => message.role === 'assistant')).toEqual([
      { role: 'assistant', content: vague },
    ]);
    expect(dialogues[0]!.at(-1)!.content).toContain(`${tasks[0]!.facts.days}`);
  });

  it('counts the order ids an agent wrote that the database does not hold', () => {
    const task = heldOut[0]!;
    const known = task.database.orders.map((order) => order.id);
    const unknown = ['A0000', 'A0001'].filter((id) => !known.includes(id));
    expect(unknown).toHaveLength(2);
    const messages = [
      { role: 'user' as const, content: `Is it ${unknown[1]}?` },
      { role: 'assistant' as const, content: `Order ${known[0]} or ${unknown[1]}, ${unknown[0]}.` },
      { role: 'tool' as const, content: `{"order_id":"${unknown[0]}"}` },
      {
        role: 'assistant' as const,
        content: `<tool_call>{"name":"get_order","arguments":{"order_id":"${unknown[1]}"}}</tool_call>`,
      },
    ];
    // Only the agent's words and calls count, each id once, sorted.
    expect(inventedOrderIds(task, messages)).toEqual([...unknown].sort());
    expect(inventedOrderIds(task, messages.slice(0, 1))).toEqual([]);
  });

  it('lets a person play the customer: the same lines give the same conversation and the same database check', async () => {
    const environment = createSupportDeskEnvironment();
    for (const task of train.slice(0, 6)) {
      const scripted = await environment.reset({ scenario: task, seed: 3 });
      let last: Awaited<ReturnType<ToolEpisode['step']>> | undefined;
      while (!scripted.done) last = await scripted.step(reference(scripted, new Random(1), task));
      const customerLines = scripted.messages
        .slice(2)
        .filter((message) => message.role === 'user')
        .map((message) => message.content);

      const person = await environment.reset({ scenario: task, seed: 3, user: 'person' });
      expect(() => person.say('too early')).toThrow(/userMessage.*not spoken/);
      let lines = 0;
      for (;;) {
        const result = await person.step(reference(person, new Random(1), task));
        expect(result.userMessage).toBeUndefined();
        if (result.toolMessages !== undefined) continue;
        expect(person.awaitingUser).toBe(true);
        await expect(person.step('again')).rejects.toThrow(/agentMessage.*say/);
        if (lines === customerLines.length) break;
        person.say(customerLines[lines]!);
        lines += 1;
      }
      const closed = await person.close();
      expect(closed.done).toBe(true);
      expect(person.messages).toEqual(scripted.messages.slice(0, person.messages.length));
      // The scripted customer's closing line is not in the conversation, so the person's is the same conversation.
      expect(person.messages).toEqual(scripted.messages);
      expect(closed.info?.supportDesk).toEqual(last!.info?.supportDesk);
      expect(closed.info?.taskSuccess).toBe(true);
      expect(() => person.say('after the end')).toThrow(/done|ended/i);
    }
    const task = train[0]!;
    const idle = await environment.reset({ scenario: task, seed: 3, user: 'person' });
    await idle.step('Hello, how can I help?');
    idle.say('Never mind.');
    await idle.step('Goodbye.');
    const unsolved = await idle.close();
    expect(unsolved.endReason).toBe('give-up');
    expect(unsolved.info?.taskSuccess).toBe(false);
    const scriptedUser = await environment.reset({ scenario: task, seed: 3 });
    expect(() => scriptedUser.say('me')).toThrow(/userMessage.*user: 'person'/);
    await expect(
      environment.reset({ scenario: task, seed: 3, user: 'robot' as never }),
    ).rejects.toThrow(/user.*'task' or 'person'/);
  });
});
