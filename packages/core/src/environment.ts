import type { Message } from './message';
import type { Random } from './random';
import type { ToolCallRecord } from './tool';

/** How an episode ended. */
export type EndReason = 'success' | 'give-up' | 'turn-limit' | 'length' | 'error';

/**
 * What the environment answers to one agent message. When the message called
 * tools, the environment ran them: `toolMessages` holds their results (role
 * `tool`), `userMessage` is absent and the agent speaks next. Otherwise the
 * user answers with `userMessage`, or the episode is over.
 */
export interface StepResult {
  /** The next user message, absent when the episode is over or the agent called tools. */
  userMessage?: string;
  /** Results of the tool calls in the agent's message, in call order, as `tool` messages. */
  toolMessages?: Message[];
  /** The tool calls of the agent's message and what each returned or how it failed. */
  toolCalls?: ToolCallRecord[];
  /** Reward for this agent turn (per-turn shaping), 0 when the environment gives none. */
  reward: number;
  done: boolean;
  /** Set when `done`. */
  endReason?: EndReason;
  /** Free-form diagnostics (criteria met so far, ...), JSON-serializable. */
  info?: Record<string, unknown>;
}

/**
 * One running conversation. Created by {@link Environment.reset}; stepped with
 * each agent message until `done`.
 */
export interface Episode {
  /** The conversation so far, system prompt first. */
  readonly messages: readonly Message[];
  step(agentMessage: string): Promise<StepResult>;
}

/**
 * A multi-turn conversation environment.
 *
 * Guarantees: `reset` with the same scenario and seed gives the same episode
 * (the same user messages for the same agent messages); episodes are
 * independent, so many may run at once; `step` after `done` throws.
 */
export interface Environment<ScenarioType = unknown> {
  readonly name: string;
  reset(options: { scenario: ScenarioType; seed: number; systemPrompt?: string }): Promise<Episode>;
}

/** Input of a {@link UserSimulator}. */
export interface UserSimulatorInput<ScenarioType = unknown> {
  scenario: ScenarioType;
  /** Conversation so far, ending with the agent's latest message (or empty at the start). */
  messages: readonly Message[];
  random: Random;
}

/** The simulated user's next move. */
export interface UserReply {
  message: string;
  /** True when the user ends the conversation with this message. */
  done: boolean;
  endReason?: EndReason;
}

/**
 * Writes the user's side of a conversation. Guarantees: deterministic for the
 * same input and random state.
 */
export interface UserSimulator<ScenarioType = unknown> {
  readonly name: string;
  respond(input: UserSimulatorInput<ScenarioType>): Promise<UserReply>;
}
