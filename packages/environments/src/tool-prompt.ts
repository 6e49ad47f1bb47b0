import { assertOneOf, type Tool, type ToolCallFormat, toolCallFormats } from '@cohort/core';
import { z } from 'zod';

/** A tool as chat templates and OpenAI-compatible APIs describe it. */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/**
 * The definition of a tool that a model is shown: its name, description and
 * parameters as JSON Schema (`tool.jsonSchema`, else `z.toJSONSchema(tool.parameters)`
 * without the `$schema` line). The same object is what `tools=[...]` holds in
 * Hugging Face chat templates and OpenAI-compatible requests.
 *
 * @example
 * ```ts
 * toolDefinition(add).function.parameters; // { type: 'object', properties: { a: { type: 'number' }, ... }, required: ['a', 'b'], ... }
 * ```
 */
export function toolDefinition(tool: Tool): ToolDefinition {
  const { $schema: _schema, ...parameters } = (tool.jsonSchema ??
    z.toJSONSchema(tool.parameters, { io: 'input' })) as Record<string, unknown>;
  return {
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters },
  };
}

/**
 * How tools are described to the model: full JSON Schema as the templates do,
 * one line per tool with its description (`compact`), or one line per tool
 * with its argument names only (`signatures`).
 */
export type ToolPromptStyle = 'json-schema' | 'compact' | 'signatures';

/** Every {@link ToolPromptStyle}. */
export const toolPromptStyles = ['json-schema', 'compact', 'signatures'] as const;

function typeOf(schema: Record<string, unknown>): string {
  if (Array.isArray(schema.enum))
    return schema.enum.map((value) => JSON.stringify(value)).join('|');
  if (schema.type === 'array' && typeof schema.items === 'object' && schema.items !== null) {
    return `${typeOf(schema.items as Record<string, unknown>)}[]`;
  }
  return typeof schema.type === 'string' ? schema.type : 'any';
}

/**
 * `name(a: string, b?: number): description`, from the tool's JSON Schema;
 * without types and description, `name(a, b?)`, when `described` is false.
 */
function compactLine(definition: ToolDefinition, described: boolean): string {
  const { properties = {}, required = [] } = definition.function.parameters as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  const parameters = Object.entries(properties)
    .map(
      ([name, schema]) =>
        `${name}${required.includes(name) ? '' : '?'}${described ? `: ${typeOf(schema)}` : ''}`,
    )
    .join(', ');
  const line = `- ${definition.function.name}(${parameters})`;
  return described ? `${line}: ${definition.function.description}` : line;
}

/**
 * The instructions that tell a model which tools it has and how to call them,
 * to be appended to the system prompt. Environments put them there themselves
 * so that they reach models whose templates know nothing of tools (the tiny
 * test models), and the token ids of the conversation stay those of plain
 * messages.
 *
 * - `json-schema` (default): worded as the format's chat template words them
 *   (Qwen 2.5's for `hermes`, Llama 3.1's JSON tool-calling prompt for
 *   `llama3-json`), every tool as its full JSON definition;
 * - `compact`: the same call syntax, one line per tool,
 *   `name(param: type, optional?: type): description`, for small models with
 *   short contexts (on the support desk, 1247 instead of 2827 characters of system prompt);
 * - `signatures`: as `compact` without types and descriptions, `name(a, b?)`,
 *   for tiny models whose every prompt token costs (the names say what they are).
 *
 * @example
 * ```ts
 * const system = `You are a support agent.\n\n${toolInstructions([findCustomer], 'hermes')}`;
 * ```
 */
export function toolInstructions(
  tools: readonly Tool[],
  format: ToolCallFormat,
  style: ToolPromptStyle = 'json-schema',
): string {
  return toolInstructionsFor(tools.map(toolDefinition), format, style);
}

/**
 * {@link toolInstructions} from definitions as OpenAI-compatible requests send
 * them (`tools: [{ type: 'function', function: {...} }]`).
 */
export function toolInstructionsFor(
  tools: readonly ToolDefinition[],
  format: ToolCallFormat,
  style: ToolPromptStyle = 'json-schema',
): string {
  assertOneOf('format', format, toolCallFormats);
  assertOneOf('style', style, toolPromptStyles);
  if (style !== 'json-schema') {
    const syntax =
      format === 'hermes'
        ? 'To call a tool, write <tool_call>{"name": <tool name>, "arguments": <JSON object>}</tool_call>.'
        : 'To call a tool, answer only {"name": <tool name>, "parameters": <JSON object>}.';
    return ['# Tools', syntax, ...tools.map((tool) => compactLine(tool, style === 'compact'))].join(
      '\n',
    );
  }
  const definitions = tools.map((tool) => JSON.stringify(tool));
  if (format === 'hermes') {
    return [
      '# Tools',
      '',
      'You may call one or more functions to assist with the user query.',
      '',
      'You are provided with function signatures within <tools></tools> XML tags:',
      '<tools>',
      ...definitions,
      '</tools>',
      '',
      'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:',
      '<tool_call>',
      '{"name": <function-name>, "arguments": <args-json-object>}',
      '</tool_call>',
    ].join('\n');
  }
  return [
    'Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.',
    '',
    'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}. Do not use variables.',
    '',
    ...definitions,
  ].join('\n');
}
