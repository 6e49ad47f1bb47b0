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
 * The instructions that tell a model which tools it has and how to call them,
 * worded as the chat template of the format words them (Qwen 2.5's template
 * for `hermes`, Llama 3.1's JSON tool-calling prompt for `llama3-json`), to be
 * appended to the system prompt. Environments put it there themselves so that
 * it reaches models whose templates know nothing of tools (the tiny test
 * models), and the token ids of the conversation stay those of plain messages.
 *
 * @example
 * ```ts
 * const system = `You are a support agent.\n\n${toolInstructions([findCustomer], 'hermes')}`;
 * ```
 */
export function toolInstructions(tools: readonly Tool[], format: ToolCallFormat): string {
  return toolInstructionsFor(tools.map(toolDefinition), format);
}

/**
 * {@link toolInstructions} from definitions as OpenAI-compatible requests send
 * them (`tools: [{ type: 'function', function: {...} }]`).
 */
export function toolInstructionsFor(
  tools: readonly ToolDefinition[],
  format: ToolCallFormat,
): string {
  assertOneOf('format', format, toolCallFormats);
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
