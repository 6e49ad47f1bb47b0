import { defineTool, type Tool } from '@cohort/core';
import { z } from 'zod';

/** Zod schema of a customer of the simulated store. */
export const SupportDeskCustomerSchema = z
  .object({ id: z.string().min(1), name: z.string().min(1), email: z.string().min(3) })
  .strict();

/** Zod schema of a product; `line` groups the variants one may exchange for each other. */
export const SupportDeskProductSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().min(1),
    line: z.string().min(1),
    /** Price in cents. */
    priceCents: z.number().int().positive(),
  })
  .strict();

/** Zod schema of an order (one product line item). */
export const SupportDeskOrderSchema = z
  .object({
    id: z.string().min(1),
    customerId: z.string().min(1),
    productId: z.string().min(1),
    quantity: z.number().int().positive(),
    status: z.enum(['processing', 'shipped', 'delivered', 'refunded', 'cancelled', 'exchanged']),
    /** Days since delivery; null until delivered. */
    deliveredDaysAgo: z.number().int().nonnegative().nullable(),
    /** The product sent in exchange, once exchanged. */
    exchangeProductId: z.string().min(1).optional(),
  })
  .strict();

/** Zod schema of the store's policies, the numbers the agent must apply and tell. */
export const SupportDeskPolicySchema = z
  .object({
    storeName: z.string().min(1),
    /** Refunds and exchanges are allowed up to this many days after delivery. */
    returnWindowDays: z.number().int().positive(),
    /** Business days until a refund reaches the customer. */
    refundDays: z.number().int().positive(),
    /** Days until an exchanged item ships. */
    exchangeShipDays: z.number().int().positive(),
    /** Days until a specialist answers an escalated case. */
    escalationDays: z.number().int().positive(),
  })
  .strict();

/** Zod schema of one escalation ticket. */
export const SupportDeskEscalationSchema = z
  .object({ orderId: z.string().min(1), reason: z.string() })
  .strict();

/** Zod schema of the whole database of one scenario. */
export const SupportDeskDatabaseSchema = z
  .object({
    customers: z.array(SupportDeskCustomerSchema).min(1),
    products: z.array(SupportDeskProductSchema).min(1),
    orders: z.array(SupportDeskOrderSchema).min(1),
    policy: SupportDeskPolicySchema,
    escalations: z.array(SupportDeskEscalationSchema).default([]),
  })
  .strict();

export type SupportDeskCustomer = z.output<typeof SupportDeskCustomerSchema>;
export type SupportDeskProduct = z.output<typeof SupportDeskProductSchema>;
export type SupportDeskOrder = z.output<typeof SupportDeskOrderSchema>;
export type SupportDeskPolicy = z.output<typeof SupportDeskPolicySchema>;
export type SupportDeskDatabase = z.output<typeof SupportDeskDatabaseSchema>;

/** A change the agent made to the database: what the success check and partial credit count. */
export interface SupportDeskAction {
  kind: 'refund' | 'cancel' | 'exchange' | 'escalate';
  orderId: string;
  /** The product sent in exchange (exchange only). */
  productId?: string;
}

/**
 * The part of a database that the agent may change and that success compares:
 * every order's status and exchange product, and the escalated order ids.
 */
export interface SupportDeskState {
  orders: { id: string; status: SupportDeskOrder['status']; exchangeProductId: string | null }[];
  escalatedOrderIds: string[];
}

/** Money as the store writes it, `$45.20`. */
export function formatCents(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}

/**
 * The simulated backend of one episode: a private copy of a scenario's
 * database, the six support operations on it, and the log of the changes
 * made. It enforces only what a real backend would (an order exists, a
 * processing order can be cancelled, a delivered one refunded or exchanged
 * for a product of the same line); the store's policy (the return window) is
 * the agent's to apply, so breaking it is possible and counts as a wrong action.
 */
export class SupportDeskBackend {
  readonly database: SupportDeskDatabase;
  /** Changes made, in order. */
  readonly actions: SupportDeskAction[] = [];

  constructor(database: SupportDeskDatabase) {
    this.database = structuredClone(database);
  }

  /** The comparable state of the database now. */
  state(): SupportDeskState {
    return supportDeskState(this.database);
  }

  findCustomer(email: string) {
    const wanted = email.trim().toLowerCase();
    const customer = this.database.customers.find((item) => item.email.toLowerCase() === wanted);
    if (!customer) throw new Error(`no customer with email ${email}`);
    return {
      customer_id: customer.id,
      name: customer.name,
      orders: this.database.orders
        .filter((order) => order.customerId === customer.id)
        .map((order) => ({
          order_id: order.id,
          product: this.product(order.productId).name,
          status: order.status,
        })),
    };
  }

  getOrder(orderId: string) {
    const order = this.order(orderId);
    const product = this.product(order.productId);
    return {
      order_id: order.id,
      customer_id: order.customerId,
      product: product.name,
      product_id: product.id,
      quantity: order.quantity,
      total: formatCents(product.priceCents * order.quantity),
      status: order.status,
      delivered_days_ago: order.deliveredDaysAgo,
      exchange_options: this.database.products
        .filter((item) => item.line === product.line && item.id !== product.id)
        .map((item) => ({ product_id: item.id, name: item.name })),
    };
  }

  refund(orderId: string) {
    const order = this.order(orderId);
    if (order.status !== 'delivered') {
      throw new Error(`order ${orderId} is ${order.status}; only delivered orders can be refunded`);
    }
    order.status = 'refunded';
    this.actions.push({ kind: 'refund', orderId });
    return {
      order_id: orderId,
      refunded: formatCents(this.total(order)),
      arrives_in_business_days: this.database.policy.refundDays,
    };
  }

  cancel(orderId: string) {
    const order = this.order(orderId);
    if (order.status !== 'processing') {
      throw new Error(
        `order ${orderId} is ${order.status}; only processing orders can be cancelled`,
      );
    }
    order.status = 'cancelled';
    this.actions.push({ kind: 'cancel', orderId });
    return {
      order_id: orderId,
      refunded: formatCents(this.total(order)),
      arrives_in_business_days: this.database.policy.refundDays,
    };
  }

  exchange(orderId: string, productId: string) {
    const order = this.order(orderId);
    if (order.status !== 'delivered') {
      throw new Error(
        `order ${orderId} is ${order.status}; only delivered orders can be exchanged`,
      );
    }
    const current = this.product(order.productId);
    const replacement = this.product(productId);
    if (replacement.line !== current.line || replacement.id === current.id) {
      throw new Error(`product ${productId} is not an exchange option for order ${orderId}`);
    }
    order.status = 'exchanged';
    order.exchangeProductId = productId;
    this.actions.push({ kind: 'exchange', orderId, productId });
    return {
      order_id: orderId,
      new_product: replacement.name,
      ships_within_days: this.database.policy.exchangeShipDays,
    };
  }

  escalate(orderId: string, reason: string) {
    this.order(orderId);
    this.database.escalations.push({ orderId, reason });
    this.actions.push({ kind: 'escalate', orderId });
    return {
      ticket: `T${this.database.escalations.length}`,
      order_id: orderId,
      specialist_answers_within_days: this.database.policy.escalationDays,
    };
  }

  /** Applies an action as the agent's tool would (used to build expected states). */
  apply(action: SupportDeskAction): void {
    if (action.kind === 'refund') this.refund(action.orderId);
    else if (action.kind === 'cancel') this.cancel(action.orderId);
    else if (action.kind === 'exchange') this.exchange(action.orderId, action.productId ?? '');
    else this.escalate(action.orderId, 'expected');
  }

  private order(orderId: string): SupportDeskOrder {
    const order = this.database.orders.find((item) => item.id === orderId.trim());
    if (!order) throw new Error(`no order ${orderId}`);
    return order;
  }

  private product(productId: string): SupportDeskProduct {
    const product = this.database.products.find((item) => item.id === productId.trim());
    if (!product) throw new Error(`no product ${productId}`);
    return product;
  }

  private total(order: SupportDeskOrder): number {
    return this.product(order.productId).priceCents * order.quantity;
  }
}

/** The comparable state of a database (see {@link SupportDeskState}). */
export function supportDeskState(database: SupportDeskDatabase): SupportDeskState {
  return {
    orders: database.orders
      .map((order) => ({
        id: order.id,
        status: order.status,
        exchangeProductId: order.exchangeProductId ?? null,
      }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    escalatedOrderIds: database.escalations.map((item) => item.orderId).sort(),
  };
}

const orderId = z.string().min(1).describe('The order id, for example A1042.');

/**
 * The six tools of the support desk over one backend: find_customer,
 * get_order, refund, cancel, exchange and escalate. A refused operation
 * throws, which the tool runner turns into an error message to the agent.
 */
export function supportDeskTools(backend: SupportDeskBackend): Tool[] {
  return [
    defineTool({
      name: 'find_customer',
      description: 'Finds a customer by email; returns their id, name and orders.',
      parameters: z.object({ email: z.string().min(3).describe("The customer's email address.") }),
      execute: ({ email }) => backend.findCustomer(email),
    }),
    defineTool({
      name: 'get_order',
      description:
        'Reads an order: product, total, status, days since delivery and the products it may be exchanged for.',
      parameters: z.object({ order_id: orderId }),
      execute: ({ order_id }) => backend.getOrder(order_id),
    }),
    defineTool({
      name: 'refund',
      description: 'Refunds a delivered order in full.',
      parameters: z.object({ order_id: orderId }),
      execute: ({ order_id }) => backend.refund(order_id),
    }),
    defineTool({
      name: 'cancel',
      description: 'Cancels an order that is still processing and refunds it.',
      parameters: z.object({ order_id: orderId }),
      execute: ({ order_id }) => backend.cancel(order_id),
    }),
    defineTool({
      name: 'exchange',
      description: 'Exchanges a delivered order for another product of the same line.',
      parameters: z.object({
        order_id: orderId,
        product_id: z.string().min(1).describe('The product to send instead.'),
      }),
      execute: ({ order_id, product_id }) => backend.exchange(order_id, product_id),
    }),
    defineTool({
      name: 'escalate',
      description: 'Hands a case the policy does not cover to a specialist.',
      parameters: z.object({ order_id: orderId, reason: z.string().describe('Why.') }),
      execute: ({ order_id, reason }) => backend.escalate(order_id, reason),
    }),
  ];
}
