/**
 * A user's own algorithm in the trainer: `RankAdvantageEstimator` (an
 * `AdvantageEstimator`), `TruncatedReinforceObjective` (an `Objective`) and
 * `BoundedKlEstimator` (a `KlEstimator`, here the KL to the initial policy
 * placed in the reward), written here in under 50 lines each, plug into
 * `GrpoTrainer` exactly where the built-in ones would. It trains a policy on a five-armed bandit whose
 * arms pay 0.1 ... 0.9, and reports the expected reward and the probability of
 * naming the best arm before and after.
 *
 * Run: pnpm --filter @cohort/example-custom-algorithm start
 */
import { pathToFileURL } from 'node:url';
import { MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment } from '@cohort/environments';
import { initializeBackend, UnigramPolicy, UnigramReference } from '@cohort/tfjs';
import { GrpoTrainer } from '@cohort/trainer';
import { BoundedKlEstimator } from './bounded-kl-estimator';
import { RankAdvantageEstimator } from './rank-advantage-estimator';
import { TruncatedReinforceObjective } from './truncated-reinforce-objective';

const armMeans = [0.1, 0.3, 0.5, 0.7, 0.9];

/** What a run measured: expected reward and best-arm probability, before and after. */
export interface CustomAlgorithmRun {
  expectedRewardBefore: number;
  expectedRewardAfter: number;
  bestArmProbabilityBefore: number;
  bestArmProbabilityAfter: number;
  rewardPerStep: number[];
}

/** Trains a policy that answers with an arm number, with the user's estimators and objective. */
export async function trainWithCustomAlgorithm(options: {
  steps: number;
  seed?: number;
}): Promise<CustomAlgorithmRun> {
  const seed = options.seed ?? 1;
  const tokenizer = new MockTokenizer();
  const digitIds = [...'01234'].map((digit) => tokenizer.encode(digit)[0]!);
  // A policy that names an arm (uniformly) most of the time, as a pretrained model would.
  const initialLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    digitIds.includes(id) ? 2 : id === tokenizer.endOfTurnTokenId ? 1 : -4,
  );
  const policy = new UnigramPolicy({ tokenizer, initialLogits });
  /** The expected payout of one answer, computed from the policy's probabilities, and P(best arm). */
  const measure = () => {
    const probabilities = policy.probabilities();
    const digitMass = digitIds.reduce((sum, id) => sum + probabilities[id]!, 0);
    const reward = digitIds.reduce((sum, id, arm) => sum + probabilities[id]! * armMeans[arm]!, 0);
    return { reward, best: probabilities[digitIds[4]!]!, digitMass };
  };
  const trainer = new GrpoTrainer({
    policy,
    environment: createBanditEnvironment({
      bandit: { armMeans, noise: 'gaussian', noiseStd: 0.1, seed },
    }),
    trainScenarios: [{ id: 'bandit' }],
    rewards: [],
    advantageEstimator: new RankAdvantageEstimator(),
    objective: new TruncatedReinforceObjective(2),
    referenceModel: new UnigramReference(policy),
    klEstimator: new BoundedKlEstimator(1),
    config: {
      kl: { controller: { type: 'fixed', coefficient: 0.01 }, placement: 'reward' },
      seed,
      scenariosPerStep: 2,
      groupSize: 8,
      generation: { maxNewTokens: 1 },
      optimizer: { type: 'adam', learningRate: 0.1, maxGradNorm: 10 },
      epochs: 2,
      minibatchSize: 8,
    },
  });
  const before = measure();
  const rewardPerStep: number[] = [];
  for (let step = 0; step < options.steps; step++)
    rewardPerStep.push((await trainer.step()).rewardMean);
  const after = measure();
  return {
    expectedRewardBefore: before.reward,
    expectedRewardAfter: after.reward,
    bestArmProbabilityBefore: before.best,
    bestArmProbabilityAfter: after.best,
    rewardPerStep,
  };
}

/** Runs the example and prints what changed. */
export async function main(options: { steps?: number; log?: (line: string) => void } = {}) {
  const log = options.log ?? console.log;
  await initializeBackend({ logger: false });
  const run = await trainWithCustomAlgorithm({ steps: options.steps ?? 30 });
  log(
    `expected reward      ${run.expectedRewardBefore.toFixed(3)} -> ${run.expectedRewardAfter.toFixed(3)} (best arm pays 0.9)`,
  );
  log(
    `P(names the best arm) ${run.bestArmProbabilityBefore.toFixed(3)} -> ${run.bestArmProbabilityAfter.toFixed(3)}`,
  );
  return run;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
