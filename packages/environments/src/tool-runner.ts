import {
  InvalidArgumentError,
  type Message,
  type Tool,
  type ToolCallErrorKind,
  type ToolCallRecord,
} from '@cohort/core';
import type { ParsedToolCall } from './tool-call-parser';

/** Options of {@link runToolCalls}. */
export interface RunToolCallsOptions {
  tools: readonly Tool[];
  attempts: readonly ParsedToolCall[];
  /** Milliseconds a tool may run before its call fails with `timeout`. */
  timeoutMs: number;
  /** Index of the agent turn that made the calls, kept in the records. */
  turnIndex: number;
}

/** What {@link runToolCalls} returns: one `tool` message and one record per attempt, in order. */
export interface ToolCallsOutcome {
  messages: Message[];
  records: ToolCallRecord[];
}

class ToolTimeout extends Error {}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function serialize(value: unknown): string {
  if (typeof value === 'string') return value;
  const text = JSON.stringify(value);
  if (text === undefined) throw new Error(`returned ${String(value)}, which is not JSON`);
  return text;
}

async function runWithTimeout(
  tool: Tool,
  argumentsObject: unknown,
  timeoutMs: number,
): Promise<unknown> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new ToolTimeout(`did not finish within ${timeoutMs} ms`));
      reject(new ToolTimeout(`did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      Promise.resolve().then(() =>
        tool.execute(argumentsObject as never, { signal: controller.signal }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the tool calls of one agent turn, in order, and turns each outcome
 * into a `tool` message for the model and a typed record.
 *
 * Nothing the model writes crashes the run: a malformed call, an unknown tool,
 * arguments that fail the tool's zod schema, a tool that throws, one that
 * returns something that is not JSON, and one that runs past `timeoutMs`
 * each become `{"error": "<kind>: <what went wrong>"}` as the tool message and
 * an `error` of that kind in the record (the metric). A result is sent as is
 * when it is a string, else as JSON.
 *
 * @example
 * ```ts
 * const { attempts } = parseToolCalls(agentText, 'hermes');
 * const { messages, records } = await runToolCalls({ tools, attempts, timeoutMs: 2000, turnIndex: 0 });
 * ```
 */
export async function runToolCalls(options: RunToolCallsOptions): Promise<ToolCallsOutcome> {
  if (!(options.timeoutMs > 0) || !Number.isFinite(options.timeoutMs)) {
    throw new InvalidArgumentError({
      argument: 'timeoutMs',
      value: options.timeoutMs,
      message: 'must be a finite number > 0',
    });
  }
  const byName = new Map(options.tools.map((tool) => [tool.name, tool]));
  const messages: Message[] = [];
  const records: ToolCallRecord[] = [];
  const fail = (
    record: Omit<ToolCallRecord, 'error' | 'turnIndex' | 'durationMs'>,
    kind: ToolCallErrorKind,
    message: string,
    durationMs = 0,
  ) => {
    records.push({ ...record, turnIndex: options.turnIndex, error: { kind, message }, durationMs });
    messages.push({ role: 'tool', content: JSON.stringify({ error: `${kind}: ${message}` }) });
  };
  for (const attempt of options.attempts) {
    if (attempt.kind === 'malformed') {
      fail({ name: attempt.text, arguments: {} }, 'malformed', attempt.message);
      continue;
    }
    const { name, arguments: argumentsObject } = attempt.call;
    const tool = byName.get(name);
    if (tool === undefined) {
      const known = [...byName.keys()].join(', ');
      fail(
        { name, arguments: argumentsObject },
        'unknown-tool',
        `no tool "${name}"; the tools are ${known}`,
      );
      continue;
    }
    const parsed = tool.parameters.safeParse(argumentsObject);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.map(String).join('.') || '(arguments)'}: ${issue.message}`)
        .join('; ');
      fail({ name, arguments: argumentsObject }, 'invalid-arguments', problems);
      continue;
    }
    const start = performance.now();
    try {
      const result = await runWithTimeout(tool, parsed.data, options.timeoutMs);
      const content = serialize(result);
      const durationMs = performance.now() - start;
      records.push({
        turnIndex: options.turnIndex,
        name,
        arguments: argumentsObject,
        result,
        durationMs,
      });
      messages.push({ role: 'tool', content });
    } catch (error) {
      const durationMs = performance.now() - start;
      const kind = error instanceof ToolTimeout ? 'timeout' : 'tool-error';
      fail({ name, arguments: argumentsObject }, kind, errorText(error), durationMs);
    }
  }
  return { messages, records };
}
