import type { z } from 'zod';
import { InvalidArgumentError, NonFiniteError, ValidationError } from './errors';

/**
 * Parses `data` with a zod schema, throwing a {@link ValidationError} whose
 * message names every bad field by its path.
 *
 * @example
 * ```ts
 * const config = parseWithSchema(TrainConfigSchema, json, 'training config');
 * ```
 */
export function parseWithSchema<Schema extends z.ZodType>(
  schema: Schema,
  data: unknown,
  what: string,
): z.output<Schema> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  throw new ValidationError({
    what,
    issues: result.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.'),
      message: issue.message,
    })),
    cause: result.error,
  });
}

/**
 * Throws {@link NonFiniteError} naming `name[i]` when any element is NaN or
 * infinite.
 */
export function assertFiniteArray(name: string, values: ArrayLike<number>): void {
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    if (!Number.isFinite(value)) throw new NonFiniteError({ quantity: `${name}[${index}]`, value });
  }
}

/** Throws {@link InvalidArgumentError} unless `value` is an integer >= `minimum` (default 1). */
export function assertInteger(name: string, value: number, minimum = 1): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new InvalidArgumentError({
      argument: name,
      value,
      message: `must be an integer >= ${minimum}`,
    });
  }
}

/** Throws {@link InvalidArgumentError} unless `value` is a finite number in `[minimum, maximum]`. */
export function assertInRange(name: string, value: number, minimum: number, maximum: number): void {
  if (!Number.isFinite(value) || value < minimum || value > maximum) {
    throw new InvalidArgumentError({
      argument: name,
      value,
      message: `must be a finite number in [${minimum}, ${maximum}]`,
    });
  }
}

/** Throws {@link InvalidArgumentError} unless `value` is one of the strings in `allowed`, listing them. */
export function assertOneOf<const Allowed extends readonly string[]>(
  name: string,
  value: unknown,
  allowed: Allowed,
): asserts value is Allowed[number] {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new InvalidArgumentError({
      argument: name,
      value,
      message: `must be one of ${allowed.map((item) => `'${item}'`).join(', ')}`,
    });
  }
}
