import { z } from 'zod';

/**
 * One command-line flag, declared once: how `node:util` `parseArgs` reads it
 * (`type`, `short`), the zod schema that validates and converts its value
 * and carries its help text (`.describe()`), and the value's name in the
 * usage line (`placeholder`). The help, the README's flag tables and the
 * parser all read this one declaration.
 *
 * A failed check's message is the tail of a sentence that starts with the
 * flag: `must be an integer >= 1, got "0"` becomes
 * `--steps must be an integer >= 1, got "0"`.
 */
export interface CliFlag<Output = unknown> {
  readonly type: 'string' | 'boolean';
  readonly schema: z.ZodType<Output>;
  /** The value's name in usage lines (`FILE`, `N`); none for a boolean flag. */
  readonly placeholder?: string;
  /** One-letter alias (`-c`). */
  readonly short?: string;
  /** The value when the flag is absent, as the help shows it. */
  readonly defaultText?: string;
}

/** The help text of a flag: its schema's `.describe()`. */
export function flagDescription(flag: CliFlag): string {
  return flag.schema.description ?? '';
}

interface FlagOptions {
  description: string;
  short?: string;
  /** The default to document when the command, not the flag, applies it (`runs`, `the run's`). */
  defaultText?: string;
}

/** A switch: `true` when given, else `false`. */
export function booleanFlag(options: FlagOptions): CliFlag<boolean> {
  return {
    type: 'boolean',
    schema: z.boolean().default(false).describe(options.description),
    ...(options.short ? { short: options.short } : {}),
  };
}

function checkedString<T>(check: (raw: string) => { value: T } | { problem: string }) {
  return z.string().transform((raw, context) => {
    const result = check(raw);
    if ('value' in result) return result.value;
    context.addIssue({ code: 'custom', message: result.problem, input: raw });
    return z.NEVER;
  });
}

/** Wraps a value schema as an optional flag, or one with a default, and documents it. */
function finish<T>(
  schema: z.ZodType<T>,
  options: FlagOptions & { placeholder: string; default?: T },
): CliFlag<T | undefined> | CliFlag<T> {
  const shared = {
    type: 'string' as const,
    placeholder: options.placeholder,
    ...(options.short ? { short: options.short } : {}),
    ...(options.defaultText !== undefined ? { defaultText: options.defaultText } : {}),
  };
  if (options.default === undefined)
    return { ...shared, schema: schema.optional().describe(options.description) };
  return {
    ...shared,
    schema: schema.default(options.default as never).describe(options.description) as z.ZodType<T>,
    defaultText: options.defaultText ?? String(options.default),
  };
}

interface StringFlagOptions extends FlagOptions {
  placeholder: string;
  /** A check of the value; returns the tail of the error message, or `undefined` when it is fine. */
  problem?: (value: string) => string | undefined;
  default?: string;
}

/** A flag with a text value. */
export function stringFlag(options: StringFlagOptions & { default: string }): CliFlag<string>;
export function stringFlag(options: StringFlagOptions): CliFlag<string | undefined>;
export function stringFlag(options: StringFlagOptions): CliFlag<string | undefined> {
  const schema = checkedString((raw) => {
    const problem = options.problem?.(raw);
    return problem === undefined ? { value: raw } : { problem };
  });
  return finish(schema, options) as CliFlag<string | undefined>;
}

interface NumberFlagOptions extends FlagOptions {
  placeholder?: string;
  minimum: number;
  maximum?: number;
  default?: number;
}

function rangeText(kind: string, minimum: number, maximum: number | undefined): string {
  return maximum === undefined ? `${kind} >= ${minimum}` : `${kind} in [${minimum}, ${maximum}]`;
}

/** A flag with a whole-number value in `[minimum, maximum]`. */
export function integerFlag(options: NumberFlagOptions & { default: number }): CliFlag<number>;
export function integerFlag(options: NumberFlagOptions): CliFlag<number | undefined>;
export function integerFlag(options: NumberFlagOptions): CliFlag<number | undefined> {
  const schema = checkedString((raw) => {
    const value = Number(raw);
    const ok =
      /^-?\d+$/.test(raw.trim()) &&
      Number.isSafeInteger(value) &&
      value >= options.minimum &&
      (options.maximum === undefined || value <= options.maximum);
    return ok
      ? { value }
      : {
          problem: `must be ${rangeText('an integer', options.minimum, options.maximum)}, got ${JSON.stringify(raw)}`,
        };
  });
  return finish(schema, { placeholder: 'N', ...options }) as CliFlag<number | undefined>;
}

/** A flag with a finite number value of at least `minimum`. */
export function numberFlag(options: NumberFlagOptions & { default: number }): CliFlag<number>;
export function numberFlag(options: NumberFlagOptions): CliFlag<number | undefined>;
export function numberFlag(options: NumberFlagOptions): CliFlag<number | undefined> {
  const schema = checkedString((raw) => {
    const value = Number(raw);
    const ok =
      raw.trim() !== '' &&
      Number.isFinite(value) &&
      value >= options.minimum &&
      (options.maximum === undefined || value <= options.maximum);
    return ok
      ? { value }
      : {
          problem: `must be ${rangeText('a number', options.minimum, options.maximum)}, got ${JSON.stringify(raw)}`,
        };
  });
  return finish(schema, { placeholder: 'X', ...options }) as CliFlag<number | undefined>;
}

/** A flag whose value is one of `choices`; the usage line lists them. */
export function choiceFlag<const Choice extends string>(
  options: FlagOptions & { choices: readonly Choice[] },
): CliFlag<Choice | undefined> {
  const schema = checkedString<Choice>((raw) =>
    (options.choices as readonly string[]).includes(raw)
      ? { value: raw as Choice }
      : { problem: `must be one of ${options.choices.join(', ')}, got ${JSON.stringify(raw)}` },
  );
  return finish(schema, { ...options, placeholder: options.choices.join('|') }) as CliFlag<
    Choice | undefined
  >;
}
