/*
 * Protocols of the candidate selector, the actor-critic of the GPRO design
 * (group policy optimization over candidate responses: GRPO's group-relative
 * advantages applied to choosing one of K candidates that a frozen LM
 * proposes). Its update rule is a `CandidateUpdateRule`; "optimizer" is kept
 * for the gradient optimizers (Adam) that the rule drives.
 */

/**
 * One decision of the candidate selector: a frozen LM proposed `candidates`
 * for `query` under `prompt`, the actor chose `chosenIndex` with probability
 * `exp(behaviorLogProb)`, and `reward` came back (from a reward function or a
 * person).
 */
export interface Transition {
  prompt: string;
  query: string;
  candidates: string[];
  chosenIndex: number;
  reward: number;
  /** Log-probability of the choice under the actor that made it. */
  behaviorLogProb: number;
  /** Feature vector of each candidate as the actor saw it, `[K][dimension]`. */
  candidateFeatures: number[][];
  /** Features of (prompt, query, chosen response) for the critic. */
  criticFeatures?: number[];
  /** Queries in one group share an id (the same query answered several times). */
  groupId?: string;
}

/** Scores candidates; chooses among them with a softmax over its scores. */
export interface CandidateActor<TensorType = unknown, VariableType = unknown> {
  /** Logits `[K]` per transition, batched as `[batch, K]`, differentiable. */
  logits(candidateFeatures: readonly (readonly (readonly number[])[])[]): TensorType;
  trainableVariables(): readonly VariableType[];
}

/** Predicts the reward of (prompt, query, response) from features. */
export interface RewardCritic<TensorType = unknown, VariableType = unknown> {
  /** Predicted reward `[batch]`, differentiable. */
  predict(features: readonly (readonly number[])[]): TensorType;
  trainableVariables(): readonly VariableType[];
}

/** What one {@link CandidateUpdateRule.update} did. */
export interface CandidateUpdateResult {
  actorLoss: number;
  criticLoss: number;
  /** Mean advantage magnitude, KL to the initial actor, clip fraction, ... */
  metrics: Record<string, number>;
  /** False when a non-finite loss or gradient made the update skip. */
  applied: boolean;
}

/**
 * Updates the actor and the critic of the candidate selector from a batch of
 * transitions (every M queries). Guarantees: never leaves non-finite weights;
 * reports `applied: false` instead.
 */
export interface CandidateUpdateRule<Actor = CandidateActor, Critic = RewardCritic> {
  update(
    batch: readonly Transition[],
    actor: Actor,
    critic: Critic,
  ): Promise<CandidateUpdateResult>;
}
