import { assertOneOf, type ToolCall, type ToolCallFormat, toolCallFormats } from '@cohort/core';

/** One tool call attempt found in the agent's text: a call, or text that opened one but is not valid. */
export type ParsedToolCall =
  | { kind: 'call'; call: ToolCall }
  | { kind: 'malformed'; text: string; message: string };

/** What {@link parseToolCalls} finds in an agent message. */
export interface ParsedToolCalls {
  /** Every call attempt, in the order written. Empty when the message calls no tool. */
  attempts: ParsedToolCall[];
  /** The text outside the calls (what the agent says to the user), trimmed. */
  content: string;
}

const pythonTag = '<|python_tag|>';

function describeJsonError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Checks that a parsed JSON value is `{name: string, arguments|parameters?: object}`. */
function toCall(value: unknown, text: string): ParsedToolCall {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'malformed', text, message: 'a tool call must be a JSON object' };
  }
  const record = value as Record<string, unknown>;
  if (typeof record.name !== 'string' || record.name.length === 0) {
    return { kind: 'malformed', text, message: 'a tool call needs a non-empty string "name"' };
  }
  // Qwen/Hermes write "arguments", Llama 3.x "parameters"; vLLM's parsers accept both.
  const argumentsValue = record.arguments ?? record.parameters ?? {};
  if (
    typeof argumentsValue !== 'object' ||
    argumentsValue === null ||
    Array.isArray(argumentsValue)
  ) {
    return {
      kind: 'malformed',
      text,
      message: `the arguments of "${record.name}" must be a JSON object`,
    };
  }
  return {
    kind: 'call',
    call: { name: record.name, arguments: argumentsValue as Record<string, unknown> },
  };
}

function parseJsonCall(text: string): ParsedToolCall {
  try {
    return toCall(JSON.parse(text), text);
  } catch (error) {
    return { kind: 'malformed', text, message: `invalid JSON: ${describeJsonError(error)}` };
  }
}

function parseHermes(text: string): ParsedToolCalls {
  const attempts: ParsedToolCall[] = [];
  const outside: string[] = [];
  let cursor = 0;
  for (;;) {
    const open = text.indexOf('<tool_call>', cursor);
    if (open < 0) break;
    outside.push(text.slice(cursor, open));
    const bodyStart = open + '<tool_call>'.length;
    const close = text.indexOf('</tool_call>', bodyStart);
    if (close < 0) {
      attempts.push({
        kind: 'malformed',
        text: text.slice(open),
        message: 'a <tool_call> without its closing </tool_call>',
      });
      cursor = text.length;
      break;
    }
    attempts.push(parseJsonCall(text.slice(bodyStart, close).trim()));
    cursor = close + '</tool_call>'.length;
  }
  outside.push(text.slice(cursor));
  return { attempts, content: outside.join('').trim() };
}

function parseLlama3Json(text: string): ParsedToolCalls {
  let body = text.trim();
  const tagged = body.startsWith(pythonTag);
  if (tagged) body = body.slice(pythonTag.length).trim();
  if (!tagged && !body.startsWith('{') && !body.startsWith('[')) {
    return { attempts: [], content: text.trim() };
  }
  try {
    const value: unknown = JSON.parse(body);
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0) {
      return {
        attempts: [{ kind: 'malformed', text: body, message: 'an empty list of tool calls' }],
        content: '',
      };
    }
    return {
      attempts: values.map((item) => toCall(item, JSON.stringify(item))),
      content: '',
    };
  } catch (error) {
    // Llama 3.x may separate parallel calls with ';' (as vLLM's llama3_json parser accepts).
    const pieces = body.split(/(?<=\})\s*;\s*(?=\{)/);
    if (pieces.length > 1) return { attempts: pieces.map(parseJsonCall), content: '' };
    return {
      attempts: [
        { kind: 'malformed', text: body, message: `invalid JSON: ${describeJsonError(error)}` },
      ],
      content: '',
    };
  }
}

/**
 * Finds the tool calls in an agent message written in a chat template's format.
 *
 * - `hermes` (Qwen 2.5/3, Hermes): every `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`
 *   block is one call; the text outside the blocks is the message content.
 *   A block whose body is not such a JSON object, or that is never closed, is
 *   a malformed attempt.
 * - `llama3-json` (Llama 3.1/3.3): a message that starts with `{`, `[` or
 *   `<|python_tag|>` is a tool call message: one JSON object
 *   `{"name": ..., "parameters": {...}}`, a JSON array of them, or objects
 *   separated by `;`. Anything else is plain text with no call.
 *
 * `arguments` and `parameters` are accepted in both formats; missing
 * arguments mean `{}`. Never throws on the model's text.
 *
 * @example
 * ```ts
 * parseToolCalls('Let me look.<tool_call>{"name": "get_order", "arguments": {"order_id": "A1042"}}</tool_call>', 'hermes');
 * // { attempts: [{ kind: 'call', call: { name: 'get_order', arguments: { order_id: 'A1042' } } }], content: 'Let me look.' }
 * ```
 */
export function parseToolCalls(text: string, format: ToolCallFormat): ParsedToolCalls {
  assertOneOf('format', format, toolCallFormats);
  return format === 'hermes' ? parseHermes(text) : parseLlama3Json(text);
}

/**
 * Writes tool calls in a format, the inverse of {@link parseToolCalls}: what a
 * reference agent says to call tools, and what supervised dialogues teach.
 *
 * @example
 * ```ts
 * formatToolCalls([{ name: 'find_customer', arguments: { email: 'ana@example.com' } }], 'hermes');
 * // '<tool_call>\n{"name":"find_customer","arguments":{"email":"ana@example.com"}}\n</tool_call>'
 * ```
 */
export function formatToolCalls(calls: readonly ToolCall[], format: ToolCallFormat): string {
  assertOneOf('format', format, toolCallFormats);
  if (format === 'hermes') {
    return calls
      .map(
        (call) =>
          `<tool_call>\n${JSON.stringify({ name: call.name, arguments: call.arguments })}\n</tool_call>`,
      )
      .join('\n');
  }
  const objects = calls.map((call) => ({ name: call.name, parameters: call.arguments }));
  return JSON.stringify(objects.length === 1 ? objects[0] : objects);
}
