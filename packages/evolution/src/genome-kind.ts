import type { Genome, GenomeOperators } from '@cohort/core';

/** A JSON value, as produced by {@link ValueCodec.encode}. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Turns genome values into JSON data and back, for checkpoints. */
export interface ValueCodec<Value> {
  encode(value: Value): JsonValue;
  decode(json: JsonValue): Value;
}

/**
 * Everything a population needs to know about one kind of genome: its name,
 * its variation operators, how to serialize its values and how to check one.
 *
 * @example
 * ```ts
 * const kind: GenomeKind<number> = {
 *   kind: 'scalar',
 *   operators: { mutate: (x, random) => x + random.normal(0, 0.1), distance: (a, b) => Math.abs(a - b) },
 * };
 * ```
 */
export interface GenomeKind<Value> {
  readonly kind: string;
  readonly operators: GenomeOperators<Value>;
  /** Serialization for `getState`; the generic JSON codec when absent. */
  readonly codec?: ValueCodec<Value>;
  /** Throws a typed error naming `name` when `value` is not a valid value of this kind. */
  validate?(name: string, value: Value): void;
}

/**
 * Makes an immutable {@link Genome}: the object and its `parentIds` are frozen.
 * The value is not copied; operators must return new values.
 *
 * @example
 * ```ts
 * const genome = createGenome({ id: 'prompt-0', kind: 'prompt', value: 'Be brief.', generation: 0 });
 * ```
 */
export function createGenome<Value>(options: {
  id: string;
  kind: string;
  value: Value;
  generation: number;
  parentIds?: readonly string[];
  origin?: string;
}): Genome<Value> {
  return Object.freeze({
    id: options.id,
    kind: options.kind,
    value: options.value,
    generation: options.generation,
    parentIds: Object.freeze([...(options.parentIds ?? [])]),
    origin: options.origin ?? 'initial',
  });
}
