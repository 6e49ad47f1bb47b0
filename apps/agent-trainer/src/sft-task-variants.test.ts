import { Random } from '@cohort/core';
import {
  createSupportDeskEnvironment,
  formatCents,
  generateSupportDeskDialogues,
  SupportDeskTaskSchema,
  supportDeskReferenceReply,
  supportDeskTasks,
} from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import {
  customerOrderCount,
  withOnlyTaskOrder,
  withRandomCustomers,
  withRandomPolicies,
  withRandomPrices,
  withRandomProducts,
} from './sft-task-variants';

const tasks = supportDeskTasks({ split: 'train', count: 10, seed: 4 });

describe('support desk task variants for supervised data', () => {
  it('leaves the customer only the order the task is about, other customers untouched', async () => {
    for (const task of tasks) {
      expect(customerOrderCount(task)).toBe(3);
      const single = withOnlyTaskOrder(task);
      expect(customerOrderCount(single)).toBe(1);
      expect(single.database.orders.map((order) => order.id)).toContain(task.user.orderId);
      // The three orders of the customer go to one; the other customers keep theirs.
      expect(single.database.orders).toHaveLength(task.database.orders.length - 2);
      expect(SupportDeskTaskSchema.parse(single)).toEqual(single);
    }
    // The reference agent still solves them (a dialogue is an error otherwise).
    const dialogues = await generateSupportDeskDialogues({
      tasks: tasks.map(withOnlyTaskOrder),
      seed: 1,
    });
    expect(dialogues).toHaveLength(tasks.length);
  });

  it('renames every customer to fresh random letters, consistently in the database and the user, and stays solvable', async () => {
    const random = new Random(3);
    const renamed = tasks.map((task) => withRandomCustomers(task, random));
    const names = new Set<string>();
    renamed.forEach((task, index) => {
      const original = tasks[index]!;
      expect(task.user.email).not.toBe(original.user.email);
      expect(task.user.email).toMatch(/^[a-z]{3,7}\.[a-z]{3,7}\d{1,2}@example\.com$/);
      const customer = task.database.customers.find((item) => item.email === task.user.email)!;
      expect(customer.name).toBe(task.user.name);
      // The same customer ids in the same order; orders unchanged.
      expect(task.database.customers.map((item) => item.id)).toEqual(
        original.database.customers.map((item) => item.id),
      );
      expect(task.database.orders).toEqual(original.database.orders);
      for (const item of task.database.customers) names.add(item.name);
      expect(SupportDeskTaskSchema.parse(task)).toEqual(task);
    });
    // 30 customers, 30 different names (the generator's pool repeats its 90 within a few tasks).
    expect(names.size).toBe(30);
    const dialogues = await generateSupportDeskDialogues({ tasks: renamed, seed: 1 });
    expect(dialogues).toHaveLength(tasks.length);
    // Seeded: the same random gives the same names.
    expect(tasks.map((task) => withRandomCustomers(task, new Random(3)).user.name)[0]).toBe(
      renamed[0]!.user.name,
    );
  });

  it('renames every product line and the store to random letters, in the database, the opening and the dialogue, and stays solvable', async () => {
    const random = new Random(5);
    const renamed = tasks.map((task) => withRandomProducts(task, random));
    const trainingLines = new Set(
      tasks.flatMap((task) => task.database.products.map((p) => p.line)),
    );
    const newLines = new Set<string>();
    renamed.forEach((task, index) => {
      const original = tasks[index]!;
      expect(SupportDeskTaskSchema.parse(task)).toEqual(task);
      // Ids, prices, colours, orders, customers and policy numbers unchanged.
      expect(task.database.orders).toEqual(original.database.orders);
      expect(task.database.customers).toEqual(original.database.customers);
      expect({ ...task.database.policy, storeName: '' }).toEqual({
        ...original.database.policy,
        storeName: '',
      });
      expect(task.database.policy.storeName).toMatch(/^[A-Z][a-z]{2,6} [A-Z][a-z]{2,6}$/);
      task.database.products.forEach((product, at) => {
        const before = original.database.products[at]!;
        expect(product.id).toBe(before.id);
        expect(product.priceCents).toBe(before.priceCents);
        expect(product.line).toMatch(/^[A-Z][a-z]{2,6} [A-Z][a-z]{2,6}$/);
        // The colour stays: `Trail Jacket (red)` -> `Qiwol Bramt (red)`.
        expect(product.name).toBe(before.name.replace(before.line, product.line));
        newLines.add(product.line);
      });
      // The same line keeps one new name within a task, so exchanges stay within a line.
      const byLine = new Map<string, Set<string>>();
      original.database.products.forEach((product, at) => {
        const names = byLine.get(product.line) ?? new Set<string>();
        names.add(task.database.products[at]!.line);
        byLine.set(product.line, names);
      });
      for (const names of byLine.values()) expect(names.size).toBe(1);
      // The customer names the renamed line of the order.
      const order = task.database.orders.find((item) => item.id === task.user.orderId)!;
      const line = task.database.products.find((item) => item.id === order.productId)!.line;
      expect(task.user.opening).toContain(line);
    });
    expect(newLines.size).toBe(40);
    // The reference agent solves them, and no training line or store is left in any message.
    const dialogues = await generateSupportDeskDialogues({ tasks: renamed, seed: 1 });
    expect(dialogues).toHaveLength(tasks.length);
    const text = dialogues
      .flat()
      .map((message) => message.content)
      .join('\n');
    for (const line of trainingLines) expect(text).not.toContain(line);
    expect(text).not.toMatch(/Northwind Goods|Bluebird Outfitters/);
  });

  it('draws the policy numbers wide, consistently in the prompt, the tool results, the order and the facts, and stays solvable', async () => {
    // 60 tasks: every kind 12 times.
    const many = supportDeskTasks({ split: 'train', count: 60, seed: 4 });
    const random = new Random(6);
    const drawn = many.map((task) => withRandomPolicies(task, random));
    const windows = new Set<number>();
    const otherDays = new Set<number>();
    drawn.forEach((task, index) => {
      const original = many[index]!;
      expect(SupportDeskTaskSchema.parse(task)).toEqual(task);
      const { policy } = task.database;
      expect(policy.storeName).toBe(original.database.policy.storeName);
      expect(policy.returnWindowDays).toBeGreaterThanOrEqual(5);
      expect(policy.returnWindowDays).toBeLessThanOrEqual(60);
      for (const days of [policy.refundDays, policy.exchangeShipDays, policy.escalationDays]) {
        expect(days).toBeGreaterThanOrEqual(2);
        expect(days).toBeLessThanOrEqual(30);
        otherDays.add(days);
      }
      windows.add(policy.returnWindowDays);
      // Only the task's order may change, and only its days since delivery.
      task.database.orders.forEach((order, at) => {
        const before = original.database.orders[at]!;
        if (order.id !== task.user.orderId) expect(order).toEqual(before);
        else expect({ ...order, deliveredDaysAgo: 0 }).toEqual({ ...before, deliveredDaysAgo: 0 });
      });
      const order = task.database.orders.find((item) => item.id === task.user.orderId)!;
      if (task.kind === 'refund' || task.kind === 'exchange') {
        expect(order.deliveredDaysAgo).toBeGreaterThanOrEqual(1);
        expect(order.deliveredDaysAgo).toBeLessThanOrEqual(policy.returnWindowDays);
      } else if (task.kind === 'late-refund') {
        expect(order.deliveredDaysAgo).toBeGreaterThanOrEqual(policy.returnWindowDays + 3);
        expect(order.deliveredDaysAgo).toBeLessThan(100);
      } else expect(order.deliveredDaysAgo).toBeNull();
      expect(task.expectedActions).toEqual(original.expectedActions);
      expect(task.facts.amount).toBe(original.facts.amount);
      // The facts take their days from the field the generator takes them from.
      const field = (
        ['refundDays', 'exchangeShipDays', 'escalationDays', 'returnWindowDays'] as const
      ).find((key) => original.database.policy[key] === original.facts.days)!;
      expect(task.facts.days).toBe(policy[field]);
    });
    // The training pool holds two numbers per field; the draws are wide.
    expect(windows.size).toBeGreaterThan(30);
    expect(otherDays.size).toBeGreaterThan(25);
    // The reference agent solves every task on the environment (an unsolved one is an error),
    // and every final reply tells the task's new days, which the system prompt or a tool result holds.
    const dialogues = await generateSupportDeskDialogues({
      tasks: drawn,
      seed: 1,
      toolPrompt: 'signatures',
    });
    expect(dialogues).toHaveLength(drawn.length);
    dialogues.forEach((dialogue, index) => {
      const task = drawn[index]!;
      const { policy } = task.database;
      expect(dialogue[0]!.content).toContain(`within ${policy.returnWindowDays} days of delivery`);
      expect(dialogue[0]!.content).toContain(
        `Refunds arrive in ${policy.refundDays} business days`,
      );
      const final = dialogue.at(-1)!.content;
      expect(final).toMatch(new RegExp(`\\b${task.facts.days}\\b`));
      const earlier = dialogue
        .slice(0, -1)
        .map((message) => message.content)
        .join('\n');
      expect(earlier).toMatch(new RegExp(`\\b${task.facts.days}\\b`));
    });
    // Played step by step on the environment, each episode ends in success.
    const environment = createSupportDeskEnvironment({ toolPrompt: 'signatures' });
    for (const [index, task] of drawn.slice(0, 10).entries()) {
      const episode = await environment.reset({ scenario: task, seed: index });
      let result = await episode.step(supportDeskReferenceReply(episode.messages));
      while (!result.done) result = await episode.step(supportDeskReferenceReply(episode.messages));
      expect(result.endReason).toBe('success');
      expect(result.info?.taskSuccess).toBe(true);
    }
    // Seeded: the same random gives the same numbers.
    expect(withRandomPolicies(many[0]!, new Random(6)).database.policy).toEqual(
      drawn[0]!.database.policy,
    );
  });

  it('prices every product line at random, the same for its colours, with the amount to tell recomputed, and stays solvable', async () => {
    const many = supportDeskTasks({ split: 'train', count: 20, seed: 4 });
    const random = new Random(8);
    const priced = many.map((task) => withRandomPrices(task, random));
    const prices = new Set<number>();
    priced.forEach((task, index) => {
      const original = many[index]!;
      expect(SupportDeskTaskSchema.parse(task)).toEqual(task);
      expect(task.database.orders).toEqual(original.database.orders);
      expect(task.database.policy).toEqual(original.database.policy);
      const byLine = new Map<string, Set<number>>();
      task.database.products.forEach((product, at) => {
        expect({ ...product, priceCents: 0 }).toEqual({
          ...original.database.products[at]!,
          priceCents: 0,
        });
        expect(product.priceCents).toBeGreaterThanOrEqual(500);
        expect(product.priceCents).toBeLessThan(25_000);
        byLine.set(product.line, (byLine.get(product.line) ?? new Set()).add(product.priceCents));
        prices.add(product.priceCents);
      });
      for (const linePrices of byLine.values()) expect(linePrices.size).toBe(1);
      const order = task.database.orders.find((item) => item.id === task.user.orderId)!;
      const product = task.database.products.find((item) => item.id === order.productId)!;
      if (original.facts.amount === undefined) expect(task.facts).toEqual(original.facts);
      else
        expect(task.facts).toEqual({
          ...original.facts,
          amount: formatCents(product.priceCents * order.quantity),
        });
    });
    // 80 lines, nearly as many prices (the generator's pool holds 8).
    expect(prices.size).toBeGreaterThan(70);
    // The reference agent solves them and tells the new amounts (an unsolved task is an error).
    const dialogues = await generateSupportDeskDialogues({ tasks: priced, seed: 1 });
    dialogues.forEach((dialogue, index) => {
      const amount = priced[index]!.facts.amount;
      if (amount !== undefined) expect(dialogue.at(-1)!.content).toContain(amount);
    });
  });
});
