import { z } from 'zod';

/**
 * How a model writes tool calls in its text, which follows its chat template:
 * - `hermes`: Qwen 2.5/3 and Hermes, one `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`
 *   block per call;
 * - `llama3-json`: Llama 3.1/3.3 JSON tool calling, the whole message is
 *   `{"name": ..., "parameters": {...}}` (optionally after `<|python_tag|>`),
 *   or a JSON array of such objects.
 */
export type ToolCallFormat = 'hermes' | 'llama3-json';

/** The tool call formats, for schemas and validation. */
export const toolCallFormats = [
  'hermes',
  'llama3-json',
] as const satisfies readonly ToolCallFormat[];

/** What a running tool may use: an abort signal that fires at its timeout. */
export interface ToolExecutionContext {
  signal: AbortSignal;
}

/**
 * A function the agent may call. Its arguments are a JSON object validated by
 * `parameters` (a zod schema) before `execute` runs; the model sees the
 * parameters as JSON Schema (`z.toJSONSchema(parameters)`, or `jsonSchema`
 * when given, for example as served by an MCP server).
 *
 * Guarantees an implementation keeps: `execute` returns a JSON-serializable
 * value (or a string) or throws; it honours `context.signal` when it can.
 * Whatever it throws becomes an error message to the model, never a crash.
 *
 * Write one with {@link defineTool}, which types `execute`'s arguments from
 * the schema.
 */
export interface Tool {
  readonly name: string;
  readonly description: string;
  /** Zod schema of the arguments object. */
  readonly parameters: z.ZodType;
  /** JSON Schema shown to the model instead of the one derived from `parameters`. */
  readonly jsonSchema?: Record<string, unknown>;
  execute(argumentsObject: never, context: ToolExecutionContext): unknown;
}

/**
 * Defines a {@link Tool} whose `execute` receives the arguments typed by its
 * zod schema (they are validated before it runs).
 *
 * @example
 * ```ts
 * const add = defineTool({
 *   name: 'add',
 *   description: 'Adds two numbers.',
 *   parameters: z.object({ a: z.number(), b: z.number() }),
 *   execute: ({ a, b }) => ({ sum: a + b }),
 * });
 * ```
 */
export function defineTool<Parameters extends z.ZodType>(tool: {
  name: string;
  description: string;
  parameters: Parameters;
  jsonSchema?: Record<string, unknown>;
  execute(argumentsObject: z.output<Parameters>, context: ToolExecutionContext): unknown;
}): Tool {
  return tool as Tool;
}

/** One tool call parsed from the agent's text. */
export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

/**
 * Why a tool call failed:
 * - `malformed`: the text that opened a call is not a JSON object with a
 *   string `name` and an object of arguments;
 * - `unknown-tool`: no tool of that name;
 * - `invalid-arguments`: the arguments fail the tool's schema;
 * - `tool-error`: the tool threw;
 * - `timeout`: the tool did not finish within the timeout.
 */
export type ToolCallErrorKind =
  | 'malformed'
  | 'unknown-tool'
  | 'invalid-arguments'
  | 'tool-error'
  | 'timeout';

/** The kinds of {@link ToolCallErrorKind}, for schemas and metrics. */
export const toolCallErrorKinds = [
  'malformed',
  'unknown-tool',
  'invalid-arguments',
  'tool-error',
  'timeout',
] as const satisfies readonly ToolCallErrorKind[];

/**
 * Zod schema of a {@link ToolCallRecord}: one tool call of an episode, what it
 * returned or how it failed, kept in the trajectory record in typed form (for
 * reports, consoles and metrics).
 */
export const ToolCallRecordSchema = z
  .object({
    /** Index of the agent turn (0-based, counting every assistant message) that made the call. */
    turnIndex: z.number().int().nonnegative(),
    /** Tool name; the raw text of the call when it was malformed. */
    name: z.string(),
    /** Parsed arguments; empty when malformed. */
    arguments: z.record(z.string(), z.unknown()),
    /** What the tool returned (JSON-serializable), absent on error. */
    result: z.unknown().optional(),
    error: z
      .object({ kind: z.enum(toolCallErrorKinds), message: z.string() })
      .strict()
      .optional(),
    /** Wall-clock milliseconds the tool ran (0 when it did not run). */
    durationMs: z.number().nonnegative(),
  })
  .strict();

export type ToolCallRecord = z.output<typeof ToolCallRecordSchema>;
