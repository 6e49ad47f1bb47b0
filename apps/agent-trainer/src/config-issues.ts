import type { ValidationIssue } from '@cohort/core';
import type { z } from 'zod';

interface SchemaDefinition {
  type: string;
  innerType?: SchemaLike;
  in?: SchemaLike;
  shape?: Record<string, SchemaLike>;
  element?: SchemaLike;
  valueType?: SchemaLike;
  options?: SchemaLike[];
  discriminator?: string;
  values?: unknown[];
}

interface SchemaLike {
  _zod: { def: SchemaDefinition };
}

function definitionOf(schema: unknown): SchemaDefinition | undefined {
  return (schema as Partial<SchemaLike> | undefined)?._zod?.def;
}

/** Strips wrappers (default, optional, nullable, readonly, catch, pipe) down to the schema that holds the shape. */
function unwrap(schema: SchemaLike | undefined): SchemaLike | undefined {
  let current = schema;
  for (let depth = 0; depth < 20 && current; depth++) {
    const definition = definitionOf(current);
    if (!definition) return undefined;
    if (definition.innerType) current = definition.innerType;
    else if (definition.type === 'pipe' && definition.in) current = definition.in;
    else return current;
  }
  return current;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Picks the union option that the data selects (by its discriminator's literal value, else the first object option). */
function chooseOption(definition: SchemaDefinition, data: unknown): SchemaLike | undefined {
  const options = (definition.options ?? []).map(unwrap).filter((option) => option !== undefined);
  const key = definition.discriminator;
  if (key && isObject(data)) {
    for (const option of options) {
      const field = unwrap(definitionOf(option)?.shape?.[key]);
      if (definitionOf(field)?.values?.includes(data[key])) return option;
    }
  }
  return options.find((option) => definitionOf(option)?.type === 'object');
}

/** The object schema found by following `path` through `schema`, guided by `data` at unions. */
function objectSchemaAt(
  schema: SchemaLike,
  data: unknown,
  path: readonly PropertyKey[],
): SchemaLike | undefined {
  let current = unwrap(schema);
  let value = data;
  for (let index = 0; index <= path.length && current; index++) {
    let definition = definitionOf(current)!;
    if (definition.type === 'union') {
      current = chooseOption(definition, value);
      definition = definitionOf(current) ?? definition;
    }
    if (index === path.length) return definition.type === 'object' ? current : undefined;
    const key = path[index]!;
    if (definition.type === 'object') current = unwrap(definition.shape?.[String(key)]);
    else if (definition.type === 'array') current = unwrap(definition.element);
    else if (definition.type === 'record') current = unwrap(definition.valueType);
    else return undefined;
    value =
      isObject(value) || Array.isArray(value)
        ? (value as Record<PropertyKey, unknown>)[key as string]
        : undefined;
  }
  return undefined;
}

/**
 * Turns zod issues into {@link ValidationIssue}s whose messages say what is
 * allowed: an unknown key names itself in the path and lists the keys that
 * the object accepts; other messages (zod already lists enum options,
 * discriminator values and bounds) are kept.
 *
 * @example
 * ```ts
 * const result = schema.safeParse(data);
 * if (!result.success) zodIssuesWithAllowedValues(schema, data, result.error.issues);
 * // [{ path: 'trainer.optimizer.lr', message: 'unknown key; allowed keys: type, learningRate, ...' }]
 * ```
 */
export function zodIssuesWithAllowedValues(
  schema: z.ZodType,
  data: unknown,
  issues: readonly z.core.$ZodIssue[],
): ValidationIssue[] {
  const result: ValidationIssue[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const objectSchema = objectSchemaAt(schema as unknown as SchemaLike, data, issue.path);
      const allowed = Object.keys(definitionOf(objectSchema)?.shape ?? {});
      for (const key of issue.keys) {
        result.push({
          path: [...base, key].join('.'),
          message: `unknown key${allowed.length > 0 ? `; allowed keys: ${allowed.join(', ')}` : ''}`,
        });
      }
      continue;
    }
    result.push({ path: base.join('.'), message: issue.message });
  }
  return result;
}

/**
 * Keys in `data` that the schema would drop without a word: every object
 * along the way is checked, including objects of other packages' schemas that
 * are not `.strict()` (for example `trainer.kl.controller`). Returns one
 * issue per unknown key, with its path and the keys allowed there.
 *
 * @example
 * ```ts
 * unknownKeyIssues(AppConfigSchema, { trainer: { kl: { controller: { type: 'fixed', coefficient: 0, typo: 1 } } } });
 * // [{ path: 'trainer.kl.controller.typo', message: 'unknown key; allowed keys: type, coefficient' }]
 * ```
 */
export function unknownKeyIssues(schema: z.ZodType, data: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const walk = (current: SchemaLike | undefined, value: unknown, path: string[]): void => {
    let node = unwrap(current);
    if (!node) return;
    let definition = definitionOf(node)!;
    if (definition.type === 'union') {
      node = chooseOption(definition, value);
      if (!node) return;
      definition = definitionOf(node)!;
    }
    if (definition.type === 'object' && isObject(value)) {
      const shape = definition.shape ?? {};
      for (const [key, child] of Object.entries(value)) {
        if (!(key in shape)) {
          issues.push({
            path: [...path, key].join('.'),
            message: `unknown key; allowed keys: ${Object.keys(shape).join(', ')}`,
          });
        } else {
          walk(shape[key], child, [...path, key]);
        }
      }
    } else if (definition.type === 'array' && Array.isArray(value)) {
      for (const [index, element] of value.entries())
        walk(definition.element, element, [...path, String(index)]);
    } else if (definition.type === 'record' && isObject(value)) {
      for (const [key, child] of Object.entries(value))
        walk(definition.valueType, child, [...path, key]);
    }
  };
  walk(schema as unknown as SchemaLike, data, []);
  return issues;
}
