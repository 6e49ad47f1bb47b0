/**
 * Trains a policy with GRPO on a user-written, multi-turn environment
 * ("guess my number", in guess-number-environment.ts). Nothing in Cohort
 * knows this game: the trainer only sees the `Environment` protocol of
 * `@cohort/core`, and the episodes run turn by turn through its chat template.
 *
 * Run: pnpm --filter @cohort/example-custom-environment start
 */
import { pathToFileURL } from 'node:url';
import { MockTokenizer } from '@cohort/core/test';
import { createOptimizer, initializeBackend, UnigramPolicy, UnigramReference } from '@cohort/tfjs';
import { type EvaluationMetrics, GrpoTrainer } from '@cohort/trainer';
import { GuessNumberEnvironment, type GuessScenario } from './guess-number-environment';

/** What the run produced. */
export interface CustomEnvironmentResult {
  before: EvaluationMetrics;
  after: EvaluationMetrics;
  rewardPerStep: number[];
}

/** Trains for `steps` GRPO steps and evaluates on the same 64 held-out games before and after. */
export async function main(
  options: { steps?: number; seed?: number; log?: (line: string) => void } = {},
): Promise<CustomEnvironmentResult> {
  const { steps = 120, seed = 1, log = console.log } = options;
  await initializeBackend({ logger: false });
  const game = (id: string): GuessScenario => ({ id, low: 0, high: 9, maxGuesses: 4 });
  // A context-free softmax over the characters, starting uniform: it must
  // discover that digits are what the game pays for.
  const policy = new UnigramPolicy({ tokenizer: new MockTokenizer() });
  const trainer = new GrpoTrainer({
    policy,
    referenceModel: new UnigramReference(policy),
    environment: new GuessNumberEnvironment(),
    trainScenarios: [game('train-a'), game('train-b'), game('train-c')],
    evalScenarios: [game('eval-a'), game('eval-b'), game('eval-c'), game('eval-d')],
    rewards: [], // the environment's own per-turn reward is the return
    optimizer: createOptimizer({
      type: 'adam',
      learningRate: 0.1,
      maxGradNorm: 1,
      variables: policy.namedVariables(),
    }),
    config: {
      seed,
      scenariosPerStep: 2,
      groupSize: 8,
      generation: { maxNewTokens: 1 },
      // Sampled, not greedy, with a fixed seed: the same games each evaluation.
      evaluation: { episodesPerScenario: 16, temperature: 1 },
    },
  });

  const before = await trainer.evaluate();
  log(
    `before training: reward ${before.rewardMean.toFixed(3)}, won ${percent(before.successRate)}`,
  );
  const rewardPerStep: number[] = [];
  for (let step = 0; step < steps; step++) {
    const metrics = await trainer.step();
    rewardPerStep.push(metrics.rewardMean);
    if ((step + 1) % 20 === 0) {
      log(
        `step ${step + 1}: reward ${metrics.rewardMean.toFixed(3)}, won ${percent(metrics.successRate)}`,
      );
    }
  }
  const after = await trainer.evaluate();
  log(`after training: reward ${after.rewardMean.toFixed(3)}, won ${percent(after.successRate)}`);
  log('a held-out game:');
  for (const message of after.samples[0]?.messages.slice(1) ?? []) {
    log(`  ${message.role}: ${message.content}`);
  }
  return { before, after, rewardPerStep };
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}% of games`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
