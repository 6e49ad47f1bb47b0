import { parseArgs } from 'node:util';
import { booleanFlag, type CliFlag, flagDescription } from './cli-flag';
import { UsageError } from './exit-codes';

/** Flags every command accepts. */
export interface CommonFlags {
  /** Print machine-readable JSON lines on stdout instead of human text. */
  json: boolean;
  /** Print stack traces and extra detail. */
  verbose: boolean;
}

/** The flags every command takes, declared like a command's own. */
export const commonFlags = {
  json: booleanFlag({
    description: 'JSON lines on stdout instead of human text; stderr carries only errors',
  }),
  verbose: booleanFlag({
    short: 'v',
    description: 'stack traces and extra detail (the TensorFlow.js backend line)',
  }),
  help: booleanFlag({ short: 'h', description: 'the help of this command' }),
} as const;

export type CliFlags = Readonly<Record<string, CliFlag>>;

/** The parsed value of each flag, keyed by the flag's name (`run-dir`). */
export type FlagValues<Flags extends CliFlags> = {
  [K in keyof Flags]: Flags[K] extends CliFlag<infer Output> ? Output : never;
};

/** Positional arguments a command takes, for its usage line and docs. */
export interface CliPositionals {
  /** As the usage line shows them: `RUN_DIR`, `[RUN_DIR...]`. */
  readonly usage: string;
  readonly description: string;
}

/** What the parser, the help and the docs read of any command, whatever its flags. */
export interface CliCommandBase<Result = unknown> {
  readonly name: string;
  /** One line: the program's help and the README's table of commands. */
  readonly summary: string;
  /** The paragraph under the usage line of `agent-trainer help NAME`. */
  readonly description: string;
  readonly flags: CliFlags;
  readonly positionals?: CliPositionals;
  /** Flags of which exactly one must be given (`(--run-dir DIR | --model DIR)`). */
  readonly exactlyOne?: readonly string[];
  build(values: Record<string, unknown>, positionals: string[]): Result;
}

/**
 * One command of the program, declared once: its flags (each a
 * {@link CliFlag} with its zod schema and `.describe()` text), its
 * positionals, and `build`, which turns the checked values into the
 * command's record. The parser, `--help` and the README's reference are
 * all made from this declaration.
 */
export interface CliCommand<Name extends string, Flags extends CliFlags, Result>
  extends CliCommandBase<Result> {
  readonly name: Name;
  readonly flags: Flags;
  readonly exactlyOne?: readonly (keyof Flags & string)[];
  /** The command's record from the checked flag values; throws {@link UsageError} for rules across flags. */
  build(values: FlagValues<Flags>, positionals: string[]): Result;
}

/** Declares a command; the identity, typed so `build` sees each flag's parsed type. */
export function defineCommand<const Name extends string, const Flags extends CliFlags, Result>(
  command: CliCommand<Name, Flags, Result>,
): CliCommand<Name, Flags, Result> {
  return command;
}

function flagToken(name: string, flag: CliFlag): string {
  return flag.placeholder === undefined ? `--${name}` : `--${name} ${flag.placeholder}`;
}

/** The usage line of a command, wrapped under its name. */
export function usageLine(command: CliCommandBase, width = 92): string {
  const head = `agent-trainer ${command.name}`;
  const exactlyOne = new Set<string>(command.exactlyOne ?? []);
  const parts: string[] = [];
  if (command.positionals) parts.push(command.positionals.usage);
  if (exactlyOne.size > 0)
    parts.push(
      `(${[...exactlyOne].map((name) => flagToken(name, command.flags[name]!)).join(' | ')})`,
    );
  for (const [name, flag] of Object.entries(command.flags))
    if (!exactlyOne.has(name)) parts.push(`[${flagToken(name, flag)}]`);
  parts.push('[--json]', '[--verbose]');
  const lines: string[] = [];
  let line = head;
  const indent = ' '.repeat(head.length + 1);
  for (const part of parts) {
    if (line.length + 1 + part.length > width && line.trim() !== head) {
      lines.push(line);
      line = indent + part;
    } else line = `${line} ${part}`;
  }
  lines.push(line);
  return lines.join('\n');
}

export function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

function flagHelpRows(flags: CliFlags): string[] {
  const rows = Object.entries(flags).map(([name, flag]) => {
    const left = `${flag.short ? `-${flag.short}, ` : '    '}${flagToken(name, flag)}`;
    const right = `${flagDescription(flag)}${flag.defaultText !== undefined ? ` (default ${flag.defaultText})` : ''}`;
    return { left, right };
  });
  const column = Math.min(34, Math.max(...rows.map((row) => row.left.length)) + 2);
  return rows.flatMap(({ left, right }) => {
    const [first = '', ...rest] = wrap(right, 92 - column - 4, '');
    const start =
      left.length + 2 > column
        ? [`    ${left}`, `    ${' '.repeat(column)}${first}`]
        : [`    ${left.padEnd(column)}${first}`];
    return [...start, ...rest.map((line) => `    ${' '.repeat(column)}${line}`)];
  });
}

/** `agent-trainer help NAME`: usage, description and every flag with its `.describe()` text. */
export function commandHelp(command: CliCommandBase): string {
  return [
    usageLine(command),
    ...wrap(command.description, 90, '  '),
    '',
    '  Flags:',
    ...flagHelpRows({ ...command.flags, ...commonFlags }),
  ].join('\n');
}

function markdownCell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/**
 * The README's command reference: a table of commands and, per command, a
 * table of its flags with their values, defaults and `.describe()` texts.
 */
export function commandsMarkdown(commands: readonly CliCommandBase[]): string {
  const lines = ['| command | what it does |', '| --- | --- |'];
  for (const command of commands)
    lines.push(
      `| \`${markdownCell(usageLine(command, Number.POSITIVE_INFINITY).replace(/^agent-trainer /, ''))}\` | ${markdownCell(command.summary)} |`,
    );
  for (const command of commands) {
    lines.push('', `### \`agent-trainer ${command.name}\``, '', command.description, '');
    if (command.positionals)
      lines.push(`\`${command.positionals.usage}\`: ${command.positionals.description}`, '');
    const flags = Object.entries(command.flags);
    if (flags.length === 0) {
      lines.push('No flags beyond the common ones.');
      continue;
    }
    lines.push('| flag | default | meaning |', '| --- | --- | --- |');
    for (const [name, flag] of flags)
      lines.push(
        `| \`${markdownCell(flagToken(name, flag))}\`${flag.short ? ` (\`-${flag.short}\`)` : ''} | ${flag.defaultText ?? ''} | ${markdownCell(flagDescription(flag))} |`,
      );
  }
  lines.push('', 'Every command also takes:', '', '| flag | meaning |', '| --- | --- |');
  for (const [name, flag] of Object.entries(commonFlags))
    lines.push(
      `| \`--${name}\`${flag.short ? ` (\`-${flag.short}\`)` : ''} | ${markdownCell(flagDescription(flag))} |`,
    );
  return lines.join('\n');
}

type UndefinedKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];

/**
 * The record a command's `build` makes, with the flags every command takes:
 * a field that may be undefined is optional (the parser drops undefined
 * fields).
 */
export type CommandRecord<Command extends CliCommandBase> = RecordOf<ReturnType<Command['build']>>;

type RecordOf<Result> = {
  [K in Exclude<keyof Result, UndefinedKeys<Result>>]: Result[K];
} & {
  [K in UndefinedKeys<Result>]?: Exclude<Result[K], undefined>;
} & CommonFlags;

/** The result of parsing one command's arguments: its record, or a request for its help. */
export type ParsedCommand<Result> =
  | { help: true; flags: CommonFlags }
  | { help: false; result: Result & CommonFlags };

function withoutUndefined<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

/**
 * Parses a command's arguments (after its name) with `parseArgs` in strict
 * mode, checks every flag against its schema and the `exactlyOne` rule, and
 * builds the record. Every problem throws {@link UsageError} naming the flag
 * and the value.
 */
export function parseCommand<Result>(
  command: CliCommandBase<Result>,
  args: readonly string[],
): ParsedCommand<Result> {
  const options = Object.fromEntries(
    Object.entries({ ...commonFlags, ...command.flags }).map(([name, flag]) => [
      name,
      { type: flag.type, ...(flag.short ? { short: flag.short } : {}) },
    ]),
  );
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      allowPositionals: command.positionals !== undefined,
      strict: true,
    }) as typeof parsed;
  } catch (error) {
    const message = (error as Error).message
      .split('\n')[0]!
      .replace(/^TypeError \[[A-Z_]+\]: /, '');
    throw new UsageError(`${command.name}: ${message} (see agent-trainer help ${command.name})`, {
      cause: error,
    });
  }
  const { values, positionals } = parsed;
  const flags: CommonFlags = { json: values.json === true, verbose: values.verbose === true };
  if (values.help === true) return { help: true, flags };
  const exactlyOne = command.exactlyOne ?? [];
  if (
    exactlyOne.length > 0 &&
    exactlyOne.filter((name) => values[name] !== undefined).length !== 1
  ) {
    const choices = exactlyOne.map((name) => flagToken(name, command.flags[name]!));
    throw new UsageError(`${command.name} needs exactly one of ${choices.join(' or ')}`);
  }
  const checked: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(command.flags)) {
    const result = flag.schema.safeParse(values[name]);
    if (!result.success)
      throw new UsageError(`--${name} ${result.error.issues[0]?.message ?? 'is not valid'}`, {
        cause: result.error,
      });
    checked[name] = result.data;
  }
  const result = command.build(checked, positionals);
  return {
    help: false,
    result: { ...flags, ...withoutUndefined(result as object) } as Result & CommonFlags,
  };
}
