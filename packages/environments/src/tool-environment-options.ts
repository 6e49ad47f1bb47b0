import {
  type EndReason,
  type Message,
  type Random,
  type Tool,
  type ToolCallRecord,
  toolCallFormats,
} from '@cohort/core';
import { z } from 'zod';
import { toolPromptStyles } from './tool-prompt';

/** The answer to an agent message that calls no tool: the user's next line, or the end. */
export interface ToolTaskReply {
  /** The user's next message; absent when `done`. */
  userMessage?: string;
  done: boolean;
  endReason?: EndReason;
  /** Reward of this agent turn (default 0). */
  reward?: number;
  info?: Record<string, unknown>;
}

/** One episode's task, made by {@link ToolEnvironmentOptions.createTask}. */
export interface ToolTask {
  /** The agent's instructions; the tool instructions of the format are appended. */
  systemPrompt: string;
  /** The user's first message. */
  openingMessage: string;
  /** The tools of this episode (they may share state, such as a database). */
  tools: readonly Tool[];
  /** The user's answer to an agent message that calls no tool (`agentMessage` is its text). */
  respond(input: {
    agentMessage: string;
    messages: readonly Message[];
  }): ToolTaskReply | Promise<ToolTaskReply>;
  /**
   * Called once when the episode ends, however it ends (the user, the turn
   * limit): the reward it adds to the last turn, and what to report.
   */
  finish?(input: {
    messages: readonly Message[];
    endReason: EndReason;
    toolCalls: readonly ToolCallRecord[];
  }):
    | { reward: number; info?: Record<string, unknown> }
    | Promise<{ reward: number; info?: Record<string, unknown> }>;
}

/** What {@link ToolEnvironmentOptions.createTask} is given. */
export interface CreateToolTaskInput<ScenarioType> {
  scenario: ScenarioType;
  seed: number;
  /** Random stream of the episode, seeded with `seed`. */
  random: Random;
  /** The `systemPrompt` given to `reset`, if any. */
  systemPrompt?: string;
}

/**
 * The zod fields every tool environment shares (the call format, the tool
 * timeout, the turn limit), with the defaults of the environment at hand.
 */
export function toolLoopFields(defaults: { toolTimeoutMs: number; maxAgentTurns: number }) {
  return {
    format: z
      .enum(toolCallFormats)
      .default('hermes')
      .describe('How the model writes tool calls: hermes (Qwen) or llama3-json.'),
    toolPrompt: z
      .enum(toolPromptStyles)
      .default('json-schema')
      .describe(
        'How tools are described in the system prompt: full JSON Schema, one line per tool (compact), or one line per tool with its arguments only (signatures; the support desk then also states its policy in four short lines).',
      ),
    toolTimeoutMs: z
      .number()
      .positive()
      .max(600_000)
      .default(defaults.toolTimeoutMs)
      .describe('Milliseconds a tool call may run before it fails with timeout.'),
    maxAgentTurns: z
      .number()
      .int()
      .positive()
      .max(256)
      .default(defaults.maxAgentTurns)
      .describe('Agent messages per episode, tool-calling ones included.'),
  };
}

/**
 * Options of {@link ToolEnvironment}.
 *
 * - `name`: the environment's name.
 * - `createTask`: builds one episode's task (prompt, opening, tools, user) from a scenario.
 * - `format`: how the model writes tool calls (default `hermes`, Qwen's).
 * - `toolPrompt`: `json-schema` (default) or `compact` tool descriptions (see `toolInstructions`).
 * - `toolTimeoutMs`: a call that runs longer fails with `timeout` (default 5000).
 * - `maxAgentTurns`: agent messages per episode, tool-calling ones included
 *   (default 16); the episode ends with `turn-limit` after the last.
 */
export const ToolEnvironmentOptionsSchema = z
  .object({
    name: z.string().min(1).describe("The environment's name."),
    createTask: z.custom<(input: CreateToolTaskInput<never>) => ToolTask | Promise<ToolTask>>(
      (value) => typeof value === 'function',
      { message: 'must be a function (input) => ToolTask' },
    ),
    ...toolLoopFields({ toolTimeoutMs: 5000, maxAgentTurns: 16 }),
  })
  .strict();

/** Validated options of {@link ToolEnvironment}, typed by scenario. */
export type ToolEnvironmentOptions<ScenarioType = unknown> = Omit<
  z.output<typeof ToolEnvironmentOptionsSchema>,
  'createTask'
> & {
  createTask(input: CreateToolTaskInput<ScenarioType>): ToolTask | Promise<ToolTask>;
};

/** Input of {@link ToolEnvironment}: the options before defaults. */
export type ToolEnvironmentOptionsInput<ScenarioType = unknown> = Omit<
  z.input<typeof ToolEnvironmentOptionsSchema>,
  'createTask'
> & {
  createTask(input: CreateToolTaskInput<ScenarioType>): ToolTask | Promise<ToolTask>;
};
