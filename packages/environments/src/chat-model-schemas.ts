import type { ChatModel } from '@cohort/core';
import { z } from 'zod';

/** A `ChatModel` option: an object with `name` and `complete(request)`. */
export const chatModelSchema = z.custom<ChatModel>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { complete?: unknown }).complete === 'function' &&
    typeof (value as { name?: unknown }).name === 'string',
  { message: 'must be a ChatModel (an object with name and complete(request))' },
);

/**
 * A cache option: `null` (no cache) or any store with `get(key)` and
 * `set(key, value)`, such as a `Map`. `what` names the value in the message.
 */
export function chatCacheSchema<Cache extends { get(key: string): unknown }>(what: string) {
  return z.custom<Cache | null>(
    (value) =>
      value === null ||
      (typeof value === 'object' &&
        typeof (value as { get?: unknown }).get === 'function' &&
        typeof (value as { set?: unknown }).set === 'function'),
    { message: `must be null or a cache with get(key) and set(key, ${what})` },
  );
}
