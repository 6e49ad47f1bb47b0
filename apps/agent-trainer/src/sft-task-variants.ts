import type { Random } from '@cohort/core';
import { formatCents, type SupportDeskPolicy, type SupportDeskTask } from '@cohort/environments';

/** The customer the task is about: the owner of the task's order. */
function customerOf(task: SupportDeskTask): string {
  return task.database.orders.find((order) => order.id === task.user.orderId)!.customerId;
}

/** How many orders the task's customer has. */
export function customerOrderCount(task: SupportDeskTask): number {
  const customerId = customerOf(task);
  return task.database.orders.filter((order) => order.customerId === customerId).length;
}

/**
 * The task with the customer's other orders removed: the one order left is
 * the one the task is about, so the agent copies its id without choosing.
 */
export function withOnlyTaskOrder(task: SupportDeskTask): SupportDeskTask {
  const customerId = customerOf(task);
  const orders = task.database.orders.filter(
    (order) => order.customerId !== customerId || order.id === task.user.orderId,
  );
  return { ...task, database: { ...task.database, orders } };
}

function randomWord(random: Random): string {
  const length = random.int(3, 8);
  let word = '';
  for (let index = 0; index < length; index++) word += String.fromCharCode(97 + random.int(0, 26));
  return word;
}

function capitalized(word: string): string {
  return `${word[0]!.toUpperCase()}${word.slice(1)}`;
}

/**
 * A random customer name and email of 3-7 random letters each and a number
 * of 1-99 (`Qiwol Bramt`, `qiwol.bramt42@example.com`): the shape of every
 * customer of {@link withRandomCustomers}, and of the emails the copy
 * curriculum states and writes back.
 *
 * @example
 * ```ts
 * randomCustomerNames(new Random(1)).email; // 'xxx.yyyy42@example.com'
 * ```
 */
export function randomCustomerNames(random: Random): { name: string; email: string } {
  const [first, last] = [randomWord(random), randomWord(random)];
  return {
    name: `${capitalized(first)} ${capitalized(last)}`,
    email: `${first}.${last}${random.int(1, 100)}@example.com`,
  };
}

/**
 * The task with every customer renamed to random letters (`Qiwol Bramt`,
 * `qiwol.bramt42@example.com`). The generator's training pool holds 90 names,
 * which a small model memorizes instead of copying (measured: 0.7 nats per
 * email token on training names, 10 on held-out ones); names never seen
 * twice leave copying as the only way to predict them.
 */
export function withRandomCustomers(task: SupportDeskTask, random: Random): SupportDeskTask {
  const renamed = new Map<string, { name: string; email: string }>();
  const customers = task.database.customers.map((customer) => {
    const names = randomCustomerNames(random);
    renamed.set(customer.email, names);
    return { ...customer, ...names };
  });
  const user = renamed.get(task.user.email)!;
  return {
    ...task,
    database: { ...task.database, customers },
    user: { ...task.user, ...user },
  };
}

/** Two random words, capitalized (`Qiwol Bramt`): a product line or store name never seen twice. */
function randomTitle(random: Random): string {
  return [randomWord(random), randomWord(random)].map(capitalized).join(' ');
}

/**
 * The task with every product line and the store renamed to random letters
 * (`Aurora Headphones (red)` -> `Qiwol Bramt (red)`), in the database and in
 * the customer's opening; colours, ids, prices and policy numbers unchanged.
 * The generator's training pool holds 8 lines and 2 stores, held-out tasks
 * others: round 11 measured the SFT agent's action after `get_order` at
 * 0.8-1.0 probability of reading again (`get`) on held-out dialogues, and
 * none once their product and store names were swapped for training ones.
 *
 * @example
 * ```ts
 * withRandomProducts(task, new Random(1)).database.policy.storeName; // 'Xxxx Yyyyy'
 * ```
 */
export function withRandomProducts(task: SupportDeskTask, random: Random): SupportDeskTask {
  const lines = new Map<string, string>();
  for (const product of task.database.products)
    if (!lines.has(product.line)) lines.set(product.line, randomTitle(random));
  const products = task.database.products.map((product) => {
    const line = lines.get(product.line)!;
    return { ...product, line, name: product.name.replace(product.line, line) };
  });
  let opening = task.user.opening;
  for (const [from, to] of lines) opening = opening.split(from).join(to);
  return {
    ...task,
    database: {
      ...task.database,
      products,
      policy: { ...task.database.policy, storeName: randomTitle(random) },
    },
    user: { ...task.user, opening },
  };
}

/**
 * The task with its policy numbers drawn from wide ranges (return window
 * 5-60 days; refund, exchange and escalation days 2-30), consistently in the
 * database (so in the system prompt's policy lines and every tool result),
 * the order the task is about (delivered inside the new window for a refund
 * or exchange, 3-39 days past it for a late refund) and the facts the
 * customer must be told. The generator's training pool holds two numbers per
 * policy field, and round 11's agent stated those (`within 33 days`) where
 * the held-out tool result said 7-15: numbers never seen twice can only be
 * copied, and a late refund is then a comparison of two numbers in the text.
 * Held-out numbers (windows 21 and 45, days 7-15) lie inside the ranges.
 *
 * @example
 * ```ts
 * withRandomPolicies(task, new Random(1)).database.policy.refundDays; // 2-30
 * ```
 */
export function withRandomPolicies(task: SupportDeskTask, random: Random): SupportDeskTask {
  const policy: SupportDeskPolicy = {
    ...task.database.policy,
    returnWindowDays: random.int(5, 61),
    refundDays: random.int(2, 31),
    exchangeShipDays: random.int(2, 31),
    escalationDays: random.int(2, 31),
  };
  // Kept under 100 days, so that with --digit-pairs every day count is one token.
  const deliveredDaysAgo =
    task.kind === 'refund' || task.kind === 'exchange'
      ? random.int(1, policy.returnWindowDays + 1)
      : task.kind === 'late-refund'
        ? random.int(policy.returnWindowDays + 3, policy.returnWindowDays + 40)
        : null;
  const orders = task.database.orders.map((order) =>
    order.id === task.user.orderId && deliveredDaysAgo !== null
      ? { ...order, deliveredDaysAgo }
      : order,
  );
  // The field each kind's days come from, as the generator's expected facts take them.
  const days: Record<SupportDeskTask['kind'], number> = {
    refund: policy.refundDays,
    cancel: policy.refundDays,
    'late-refund': policy.escalationDays,
    'shipped-cancel': policy.returnWindowDays,
    exchange: policy.exchangeShipDays,
  };
  return {
    ...task,
    database: { ...task.database, orders, policy },
    facts: { ...task.facts, days: days[task.kind] },
  };
}

/**
 * The task with every product line given a random price of $5.00-$249.99
 * (every colour of a line the same price), and the amount the customer must
 * be told recomputed from it. The generator's training pool holds 8 prices,
 * and round 12's agent, trained with random policy days, copied the days
 * from the refund's tool result but wrote memorized amounts (`$839.98` where
 * the tool said `$83.00`) in 7 of 8 held-out replies that needed one.
 *
 * @example
 * ```ts
 * withRandomPrices(task, new Random(1)).facts.amount; // '$123.45' for a refund or cancel
 * ```
 */
export function withRandomPrices(task: SupportDeskTask, random: Random): SupportDeskTask {
  const prices = new Map<string, number>();
  for (const product of task.database.products)
    if (!prices.has(product.line)) prices.set(product.line, random.int(500, 25_000));
  const products = task.database.products.map((product) => ({
    ...product,
    priceCents: prices.get(product.line)!,
  }));
  const order = task.database.orders.find((item) => item.id === task.user.orderId)!;
  const price = prices.get(products.find((product) => product.id === order.productId)!.line)!;
  return {
    ...task,
    database: { ...task.database, products },
    facts:
      task.facts.amount === undefined
        ? task.facts
        : { ...task.facts, amount: formatCents(price * order.quantity) },
  };
}
