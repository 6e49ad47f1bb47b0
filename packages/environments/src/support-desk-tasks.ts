import { assertInteger, assertOneOf, Random } from '@cohort/core';
import { z } from 'zod';
import {
  formatCents,
  SupportDeskBackend,
  type SupportDeskCustomer,
  SupportDeskDatabaseSchema,
  type SupportDeskOrder,
  type SupportDeskPolicy,
  type SupportDeskProduct,
  type SupportDeskState,
} from './support-desk-database';

/**
 * What the customer of a support desk task wants, and what the policy makes of it:
 * - `refund`: a delivered order inside the return window, refunded;
 * - `late-refund`: a refund asked outside the window, escalated;
 * - `cancel`: an order still processing, cancelled;
 * - `shipped-cancel`: a cancel asked after shipping: nothing changes, the
 *   customer is told the return window;
 * - `exchange`: a delivered order inside the window, exchanged for another colour.
 */
export const supportDeskTaskKinds = [
  'refund',
  'late-refund',
  'cancel',
  'shipped-cancel',
  'exchange',
] as const;

export type SupportDeskTaskKind = (typeof supportDeskTaskKinds)[number];

/** Zod schema of a {@link SupportDeskTask}. */
export const SupportDeskTaskSchema = z
  .object({
    id: z.string().min(1),
    split: z.enum(['train', 'eval']),
    kind: z.enum(supportDeskTaskKinds),
    database: SupportDeskDatabaseSchema,
    user: z
      .object({
        name: z.string().min(1),
        email: z.string().min(3),
        orderId: z.string().min(1),
        /** Whether the customer can tell the order id when asked. */
        knowsOrderId: z.boolean(),
        opening: z.string().min(1),
      })
      .strict(),
    /** The changes a correct agent makes. */
    expectedActions: z.array(
      z
        .object({
          kind: z.enum(['refund', 'cancel', 'exchange', 'escalate']),
          orderId: z.string().min(1),
          productId: z.string().min(1).optional(),
        })
        .strict(),
    ),
    /** The facts the customer must be told: the amount (as `$12.34`) when money moves, and the days. */
    facts: z.object({ amount: z.string().optional(), days: z.number().int().positive() }).strict(),
  })
  .strict();

/** One scenario of the support desk: a database, a customer with a request, and what resolves it. */
export type SupportDeskTask = z.output<typeof SupportDeskTaskSchema>;

interface Pools {
  firstNames: readonly string[];
  lastNames: readonly string[];
  lines: readonly (readonly [string, number])[];
  stores: readonly string[];
  returnWindowDays: readonly number[];
  refundDays: readonly number[];
  exchangeShipDays: readonly number[];
  escalationDays: readonly number[];
}

// Held-out (eval) tasks draw customers, products, stores and policy numbers from pools disjoint from training.
const pools: Record<'train' | 'eval', Pools> = {
  train: {
    firstNames: ['Maria', 'Tom', 'Aisha', 'Kenji', 'Laura', 'Diego', 'Priya', 'Sam', 'Olga', 'Ben'],
    lastNames: ['Silva', 'Brown', 'Khan', 'Sato', 'Meyer', 'Lopez', 'Patel', 'Novak', 'Reed'],
    lines: [
      ['Aurora Headphones', 8999],
      ['Trail Jacket', 12950],
      ['Brew Coffee Maker', 6400],
      ['Stride Running Shoes', 9800],
      ['Nimbus Desk Lamp', 3450],
      ['Atlas Backpack', 5999],
      ['Vortex Blender', 7420],
      ['Echo Speaker', 4599],
    ],
    stores: ['Northwind Goods', 'Bluebird Outfitters'],
    returnWindowDays: [14, 30],
    refundDays: [3, 5],
    exchangeShipDays: [2, 4],
    escalationDays: [6, 8],
  },
  eval: {
    firstNames: ['Yusuf', 'Elena', 'Marco', 'Hana', 'Chloe', 'Tariq', 'Ingrid'],
    lastNames: ['Okafor', 'Lindqvist', 'Moreau', 'Tanaka', 'Duarte', 'Virtanen'],
    lines: [
      ['Crisp Air Fryer', 10999],
      ['Summit Hiking Boots', 14500],
      ['Pulse Smart Watch', 19900],
      ['Golden Toaster', 4150],
      ['Harbor Rain Coat', 8875],
    ],
    stores: ['Harborview Supply'],
    returnWindowDays: [21, 45],
    refundDays: [7, 10],
    exchangeShipDays: [9, 11],
    escalationDays: [12, 15],
  },
};

const colours = ['black', 'blue', 'red', 'green', 'grey'] as const;

/** The line of a product name, `Trail Jacket (red)` -> `Trail Jacket`. */
export function productLine(name: string): string {
  return name.replace(/\s*\([^)]*\)\s*$/, '');
}

function openingFor(kind: SupportDeskTaskKind, line: string, random: Random, wanted?: string) {
  const greeting = random.choice(['Hi.', 'Hello,', 'Good morning.', 'Hi there,']);
  if (kind === 'refund' || kind === 'late-refund') {
    return `${greeting} ${random.choice([
      `I would like a refund for the ${line} I bought.`,
      `The ${line} is not what I expected, I want a refund please.`,
      `Can I get a refund for my ${line}?`,
    ])}`;
  }
  if (kind === 'cancel' || kind === 'shipped-cancel') {
    return `${greeting} ${random.choice([
      `Please cancel my order of the ${line}.`,
      `I changed my mind about the ${line}, can you cancel it?`,
      `I need to cancel the ${line} I ordered.`,
    ])}`;
  }
  return `${greeting} ${random.choice([
    `I would like to exchange the ${line} for the ${wanted} one.`,
    `Can I exchange my ${line}? I want the ${wanted} one instead.`,
  ])}`;
}

function policyText(policy: SupportDeskPolicy): string {
  return [
    `You are the customer support agent of ${policy.storeName}.`,
    'Use the tools to look up customers and orders and to act on them; never guess an order id.',
    `Policy: refunds and exchanges are allowed within ${policy.returnWindowDays} days of delivery.`,
    `Refunds reach the customer in ${policy.refundDays} business days.`,
    'Only orders that are still processing can be cancelled; a shipped order can be returned once delivered.',
    `Exchanges ship within ${policy.exchangeShipDays} days.`,
    `A request outside these rules is escalated to a specialist, who answers within ${policy.escalationDays} days.`,
    'Tell the customer the amount refunded and the number of days.',
  ].join('\n');
}

/** The same policy in four short lines, for tiny models whose every prompt token costs. */
function shortPolicyText(policy: SupportDeskPolicy): string {
  return [
    `Support agent of ${policy.storeName}. Use the tools; never guess an order id.`,
    `Refund or exchange within ${policy.returnWindowDays} days of delivery. Refunds arrive in ${policy.refundDays} business days; exchanges ship within ${policy.exchangeShipDays} days.`,
    `Cancel only processing orders. Escalate the rest; a specialist answers within ${policy.escalationDays} days.`,
    'Tell the amount and the days.',
  ].join('\n');
}

/**
 * The system prompt of a task: the store's instructions and policy, in full
 * (default) or `short` (four lines, the same numbers; the support desk uses it
 * with the `signatures` tool prompt).
 */
export function supportDeskSystemPrompt(
  task: SupportDeskTask,
  length: 'full' | 'short' = 'full',
): string {
  return length === 'short'
    ? shortPolicyText(task.database.policy)
    : policyText(task.database.policy);
}

/** The database state a correct agent leaves: the task's expected actions applied to its database. */
export function expectedSupportDeskState(task: SupportDeskTask): SupportDeskState {
  const backend = new SupportDeskBackend(task.database);
  for (const action of task.expectedActions) backend.apply(action);
  return backend.state();
}

/** Options of {@link supportDeskTasks}. */
export interface SupportDeskTasksOptions {
  /** `train` or `eval` (held out: customers, products, stores and policy numbers never in train). */
  split: 'train' | 'eval';
  /** Number of tasks (default 40 for train, 20 for eval); kinds take turns. */
  count?: number;
  /** Seed of the generator (default 0 for train, 1 for eval). */
  seed?: number;
}

/**
 * Generates support desk tasks: per task a small database (the customer and
 * two others, four product lines in three colours, three orders of the
 * customer and one of each other customer), a policy, the customer's request,
 * the actions that resolve it and the facts to tell. Kinds take turns so every
 * split holds each kind; deterministic for a seed.
 *
 * @example
 * ```ts
 * const train = supportDeskTasks({ split: 'train' });
 * const heldOut = supportDeskTasks({ split: 'eval' });
 * ```
 */
export function supportDeskTasks(options: SupportDeskTasksOptions): SupportDeskTask[] {
  assertOneOf('split', options.split, ['train', 'eval'] as const);
  const count = options.count ?? (options.split === 'train' ? 40 : 20);
  assertInteger('count', count, 0);
  const pool = pools[options.split];
  const random = new Random(options.seed ?? (options.split === 'train' ? 0 : 1));
  const tasks: SupportDeskTask[] = [];
  for (let index = 0; index < count; index++) {
    const taskRandom = random.fork(index);
    const kind = supportDeskTaskKinds[index % supportDeskTaskKinds.length]!;
    const policy: SupportDeskPolicy = {
      storeName: taskRandom.choice(pool.stores),
      returnWindowDays: taskRandom.choice(pool.returnWindowDays),
      refundDays: taskRandom.choice(pool.refundDays),
      exchangeShipDays: taskRandom.choice(pool.exchangeShipDays),
      escalationDays: taskRandom.choice(pool.escalationDays),
    };
    const usedIds = new Set<number>();
    const nextId = (prefix: string, low: number, high: number) => {
      let value = taskRandom.int(low, high);
      while (usedIds.has(value)) value = taskRandom.int(low, high);
      usedIds.add(value);
      return `${prefix}${value}`;
    };
    const people = taskRandom.sample(
      pool.firstNames.flatMap((first) => pool.lastNames.map((last) => [first, last] as const)),
      3,
    );
    const customers: SupportDeskCustomer[] = people.map(([first, last]) => ({
      id: nextId('C', 100, 1000),
      name: `${first} ${last}`,
      email: `${first}.${last}${taskRandom.int(1, 100)}@example.com`.toLowerCase(),
    }));
    const lines = taskRandom.sample(pool.lines, 4);
    const products: SupportDeskProduct[] = lines.flatMap(([line, price]) =>
      taskRandom.sample(colours, 3).map((colour) => ({
        id: nextId('P', 100, 1000),
        name: `${line} (${colour})`,
        line,
        priceCents: price,
      })),
    );
    const productOf = (lineIndex: number) => products[lineIndex * 3]!;
    const pastWindow = () =>
      taskRandom.int(policy.returnWindowDays + 3, policy.returnWindowDays + 40);
    const inWindow = () => taskRandom.int(1, policy.returnWindowDays);
    const randomOrderState = (): Pick<SupportDeskOrder, 'status' | 'deliveredDaysAgo'> => {
      const status = taskRandom.choice(['processing', 'shipped', 'delivered'] as const);
      return {
        status,
        deliveredDaysAgo: status === 'delivered' ? taskRandom.int(1, 60) : null,
      };
    };
    const [customer, ...others] = customers as [SupportDeskCustomer, ...SupportDeskCustomer[]];
    const targetSlot = taskRandom.int(0, 3);
    const orders: SupportDeskOrder[] = [];
    for (let slot = 0; slot < 3; slot++) {
      const targetState: Pick<SupportDeskOrder, 'status' | 'deliveredDaysAgo'> =
        kind === 'refund' || kind === 'exchange'
          ? { status: 'delivered', deliveredDaysAgo: inWindow() }
          : kind === 'late-refund'
            ? { status: 'delivered', deliveredDaysAgo: pastWindow() }
            : kind === 'cancel'
              ? { status: 'processing', deliveredDaysAgo: null }
              : { status: 'shipped', deliveredDaysAgo: null };
      orders.push({
        id: nextId('A', 1000, 10000),
        customerId: customer.id,
        productId: productOf(slot).id,
        quantity: taskRandom.int(1, 3),
        ...(slot === targetSlot ? targetState : randomOrderState()),
      });
    }
    others.forEach((other) => {
      orders.push({
        id: nextId('A', 1000, 10000),
        customerId: other.id,
        productId: productOf(3).id,
        quantity: 1,
        ...randomOrderState(),
      });
    });
    const target = orders[targetSlot]!;
    const product = productOf(targetSlot);
    const total = formatCents(product.priceCents * target.quantity);
    const replacement = products[targetSlot * 3 + 1 + taskRandom.int(0, 2)]!;
    const wanted = /\(([^)]*)\)/.exec(replacement.name)?.[1];
    const shownLine = kind === 'exchange' ? product.name : product.line;
    const expected: Record<
      SupportDeskTaskKind,
      Pick<SupportDeskTask, 'expectedActions' | 'facts'>
    > = {
      refund: {
        expectedActions: [{ kind: 'refund', orderId: target.id }],
        facts: { amount: total, days: policy.refundDays },
      },
      'late-refund': {
        expectedActions: [{ kind: 'escalate', orderId: target.id }],
        facts: { days: policy.escalationDays },
      },
      cancel: {
        expectedActions: [{ kind: 'cancel', orderId: target.id }],
        facts: { amount: total, days: policy.refundDays },
      },
      'shipped-cancel': { expectedActions: [], facts: { days: policy.returnWindowDays } },
      exchange: {
        expectedActions: [{ kind: 'exchange', orderId: target.id, productId: replacement.id }],
        facts: { days: policy.exchangeShipDays },
      },
    };
    tasks.push({
      id: `support-desk-${options.split}-${index}`,
      split: options.split,
      kind,
      database: {
        customers: taskRandom.shuffle(customers),
        products,
        orders,
        policy,
        escalations: [],
      },
      user: {
        name: customer.name,
        email: customer.email,
        orderId: target.id,
        knowsOrderId: taskRandom.bernoulli(0.5),
        opening: openingFor(kind, shownLine, taskRandom, wanted),
      },
      ...expected[kind],
    });
  }
  return tasks;
}
