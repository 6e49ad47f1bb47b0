import type { EndReason } from './environment';
import type { Message } from './message';
import type { FinishReason } from './policy';

/** Everything a reward function may look at for one finished (or partial) episode. */
export interface RewardContext<ScenarioType = unknown> {
  scenario: ScenarioType;
  /** The whole conversation, system prompt first. */
  messages: readonly Message[];
  /** Text of the agent's turn being scored (the last agent message). */
  completion: string;
  /** Index of that agent turn, from 0. */
  turnIndex: number;
  /** Whether the episode is over, and how it ended. */
  done: boolean;
  endReason?: EndReason;
  /** Tokens in the scored agent turn, and why sampling stopped. */
  completionTokenCount: number;
  finishReason?: FinishReason;
}

/**
 * Scores an agent turn or episode.
 *
 * Guarantees: returns a finite number, or `null` when the reward does not
 * apply (a composite then leaves it out instead of counting it as 0). May be
 * async (for example a person's feedback). A reward that throws is reported by
 * name by the caller; it must not corrupt other rewards.
 */
export interface RewardFunction<ScenarioType = unknown> {
  readonly name: string;
  /** `turn`: scored after every agent turn; `episode`: once, at the end (default). */
  readonly scope?: 'turn' | 'episode';
  score(context: RewardContext<ScenarioType>): number | null | Promise<number | null>;
}

/**
 * Turns texts into fixed-size feature vectors (embeddings). Guarantees: one
 * vector per text, each of length `dimension`, finite.
 */
export interface Featurizer {
  readonly name: string;
  readonly dimension: number;
  featurize(texts: readonly string[]): Promise<number[][]>;
}
