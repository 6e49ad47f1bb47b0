// The bandit set-up that the transport tests share with their worker processes:
// the learner and each worker build it alike, and only weights travel.
import { MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment } from '@cohort/environments';
import { UnigramPolicy } from '@cohort/tfjs';
import type { RolloutHandler } from '@cohort/transport';
import { GrpoTrainer, type TrainerEvent } from '../grpo-trainer';
import type { GrpoTrainingOptionsInput } from '../grpo-training-options';
import { createRolloutTaskHandler } from '../rollout-task-handler';
import type { TransportRolloutsOptionsInput } from '../transport-rollouts-options';

export const banditArmMeans = [0.1, 0.3, 0.5, 0.7, 0.9];
export const banditScenarios = [{ id: 'bandit-a' }, { id: 'bandit-b' }, { id: 'bandit-c' }];
const tokenizer = new MockTokenizer();
export const banditDigitIds = [...'01234'].map((digit) => tokenizer.encode(digit)[0]!);

/** A policy that answers with an arm number, uniformly, before training. */
export function banditPolicy(): UnigramPolicy {
  const initialLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    banditDigitIds.includes(id) ? 2 : id === tokenizer.endOfTurnTokenId ? 1 : -4,
  );
  return new UnigramPolicy({ tokenizer, initialLogits });
}

/** Gaussian pull noise from each episode's seed, so an episode is the same on every worker. */
export function banditEnvironment() {
  return createBanditEnvironment({
    bandit: { armMeans: banditArmMeans, noise: 'gaussian', noiseStd: 0.1, seed: 11 },
  });
}

/** The expected reward of the policy's answer distribution (invalid answers earn 0). */
export function expectedBanditReward(policy: UnigramPolicy): number {
  const probabilities = policy.probabilities();
  return banditDigitIds.reduce(
    (sum, id, arm) => sum + probabilities[id]! * banditArmMeans[arm]!,
    0,
  );
}

/** The trainer config of the transport tests: 3 groups of 6, one token per answer (an arm number). */
export function banditTrainerConfig(seed: number) {
  return {
    seed,
    scenariosPerStep: 3,
    groupSize: 6,
    generation: { maxNewTokens: 1, temperature: 1 },
    maxSequenceLength: 256,
    minibatchSize: 18,
    optimizer: { type: 'adam' as const, learningRate: 0.1, maxGradNorm: 10 },
    kl: { controller: { type: 'fixed' as const, coefficient: 0 }, estimator: 'k3' as const },
  };
}

/** The learner of the transport tests: the bandit policy and a trainer whose rollouts go over `rollouts`. */
export function banditTrainer(options: {
  seed: number;
  rollouts: TransportRolloutsOptionsInput;
  config?: Partial<GrpoTrainingOptionsInput>;
  onEvent?: (event: TrainerEvent) => void;
}): { policy: UnigramPolicy; trainer: GrpoTrainer<{ id: string }> } {
  const policy = banditPolicy();
  const trainer = new GrpoTrainer({
    policy,
    environment: banditEnvironment(),
    trainScenarios: banditScenarios,
    rewards: [],
    config: { ...banditTrainerConfig(options.seed), ...options.config },
    rollouts: options.rollouts,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  return { policy, trainer };
}

/** A worker's handler for the bandit tasks, with its own policy copy. */
export function banditTaskHandler(): RolloutHandler {
  return createRolloutTaskHandler({
    policy: banditPolicy(),
    environment: banditEnvironment(),
    rewards: [],
    scenarios: banditScenarios,
  });
}
