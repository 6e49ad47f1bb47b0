import type { Random } from '@cohort/core';
import type { SupportDeskTask } from '@cohort/environments';

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
  const capital = (word: string) => `${word[0]!.toUpperCase()}${word.slice(1)}`;
  return {
    name: `${capital(first)} ${capital(last)}`,
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
