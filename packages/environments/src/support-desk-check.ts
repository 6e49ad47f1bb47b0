import type { Message, ToolCallFormat } from '@cohort/core';
import { isDeepStrictEqual } from './deep-equal';
import {
  type SupportDeskAction,
  type SupportDeskDatabase,
  supportDeskState,
} from './support-desk-database';
import { expectedSupportDeskState, type SupportDeskTask } from './support-desk-tasks';
import { parseToolCalls } from './tool-call-parser';

/** What {@link checkSupportDeskEpisode} finds. */
export interface SupportDeskCheck {
  /** The database state is the expected one and every required fact was told. */
  success: boolean;
  stateMatches: boolean;
  /** Whether the amount (when required) and the days were told to the customer. */
  factsTold: { amount: boolean | null; days: boolean };
  /** Changes that are among the expected ones. */
  correctActions: SupportDeskAction[];
  /** Changes that are not (refunding the wrong order, cancelling instead of escalating, ...). */
  wrongActions: SupportDeskAction[];
  /** Order ids the agent wrote (in text or tool calls) that are not in the database. */
  inventedOrderIds: string[];
  /** `(correct actions + facts told) / (expected actions + required facts)`, in [0, 1]. */
  partialCredit: number;
}

/** Options of {@link checkSupportDeskEpisode}. */
export interface CheckSupportDeskEpisodeOptions {
  task: SupportDeskTask;
  /** The database at the end of the episode. */
  database: SupportDeskDatabase;
  /** The changes made, in order. */
  actions: readonly SupportDeskAction[];
  messages: readonly Message[];
  format: ToolCallFormat;
}

/** An order id as the support desk writes them (`A1234`), anywhere in a text. */
export const supportDeskOrderIdPattern = /\bA\d{4}\b/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The order ids the agent wrote (in words or tool calls) that the task's
 * database does not hold: invented facts, sorted and without repeats.
 *
 * @example
 * ```ts
 * inventedOrderIds(task, trajectory.messages); // ['A3305'] when the agent made up A3305
 * ```
 */
export function inventedOrderIds(
  task: Pick<SupportDeskTask, 'database'>,
  messages: readonly Message[],
): string[] {
  const known = new Set(task.database.orders.map((order) => order.id));
  const invented = new Set<string>();
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    for (const id of message.content.match(supportDeskOrderIdPattern) ?? [])
      if (!known.has(id)) invented.add(id);
  }
  return [...invented].sort();
}

/**
 * Checks a support desk episode by code, the way tau-bench checks a retail
 * episode: success is the final database state (order statuses, exchange
 * products, escalated orders) equal to the expected one, and the facts the
 * customer must be told (the amount as `$12.34` or `12.34`, the number of
 * days as `N days` or `N business days`) present in the agent's words to the
 * customer (its messages outside tool calls). Order ids of the form `A1234`
 * that the agent wrote anywhere, tool calls included, and that the database
 * does not hold are invented facts.
 *
 * @example
 * ```ts
 * const check = checkSupportDeskEpisode({ task, database: backend.database, actions: backend.actions, messages, format: 'hermes' });
 * check.success; check.inventedOrderIds;
 * ```
 */
export function checkSupportDeskEpisode(options: CheckSupportDeskEpisodeOptions): SupportDeskCheck {
  const { task } = options;
  const stateMatches = isDeepStrictEqual(
    supportDeskState(options.database),
    expectedSupportDeskState(task),
  );
  const agentMessages = options.messages.filter((message) => message.role === 'assistant');
  const said = agentMessages
    .map((message) => parseToolCalls(message.content, options.format).content)
    .join('\n');
  const amount =
    task.facts.amount === undefined
      ? null
      : new RegExp(
          `(?:^|[^\\d.])${escapeRegExp(task.facts.amount).replace('\\$', '\\$?')}(?!\\d)`,
        ).test(said);
  const days = new RegExp(`\\b${task.facts.days}\\s*(?:business\\s+)?days?\\b`, 'i').test(said);

  const remaining = [...task.expectedActions];
  const correctActions: SupportDeskAction[] = [];
  const wrongActions: SupportDeskAction[] = [];
  for (const action of options.actions) {
    const match = remaining.findIndex(
      (item) =>
        item.kind === action.kind &&
        item.orderId === action.orderId &&
        (item.productId ?? null) === (action.productId ?? null),
    );
    if (match >= 0) {
      remaining.splice(match, 1);
      correctActions.push(action);
    } else {
      wrongActions.push(action);
    }
  }

  const factsTold = { amount, days };
  const requiredFacts = amount === null ? 1 : 2;
  const toldCount = (amount === true ? 1 : 0) + (days ? 1 : 0);
  const partialCredit =
    (correctActions.length + toldCount) / (task.expectedActions.length + requiredFacts);
  return {
    success: stateMatches && amount !== false && days,
    stateMatches,
    factsTold,
    correctActions,
    wrongActions,
    inventedOrderIds: inventedOrderIds(task, options.messages),
    partialCredit,
  };
}
