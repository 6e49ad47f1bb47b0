/**
 * GRPO on a multi-armed bandit, the smallest test of a policy optimizer: a
 * tiny GPT (trained from random weights, character tokenizer) is asked which
 * of five arms to pull and is paid the pull. It must first learn to answer
 * with an arm number at all, then to name the best arm; on a drifting bandit
 * the best arm moves in the middle of training and the policy has to follow.
 *
 * Run: pnpm --filter @cohort/example-bandit start
 */
import { pathToFileURL } from 'node:url';
import { MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment } from '@cohort/environments';
import {
  createGptModel,
  createOptimizer,
  GptPolicy,
  GptReferenceModel,
  initializeBackend,
} from '@cohort/tfjs';
import { GrpoTrainer } from '@cohort/trainer';

/** Settings of one bandit run. */
export interface BanditRunOptions {
  steps: number;
  seed?: number;
  /** Swap the best arm with another one every this many training steps (omit: stationary). */
  driftEvery?: number;
  /** KL coefficient to the initial policy; it keeps the exploration that tracking a drift needs. */
  klCoefficient?: number;
  armMeans?: readonly number[];
  learningRate?: number;
}

/** What one run produced: the learning curve and where the bandit drifted. */
export interface BanditCurve {
  /** Mean reward of the 16 episodes of each step. */
  rewardPerStep: number[];
  /** Mean of the best arm at each step (what a perfect policy would earn). */
  bestArmMeanPerStep: number[];
  /** Best arm index at each step. */
  bestArmPerStep: number[];
  /** Steps after which the best arm moved. */
  driftSteps: number[];
  /** How often each arm was named in the last step's episodes. */
  finalArmCounts: number[];
}

/** Trains a fresh tiny GPT with GRPO on one bandit and records its learning curve. */
export async function trainOnBandit(options: BanditRunOptions): Promise<BanditCurve> {
  const seed = options.seed ?? 1;
  const armMeans = [...(options.armMeans ?? [0.1, 0.3, 0.5, 0.7, 0.9])];
  const tokenizer = new MockTokenizer();
  const config = {
    vocabSize: tokenizer.vocabSize,
    contextLength: 128,
    embeddingSize: 32,
    layerCount: 1,
    headCount: 2,
  };
  const policy = new GptPolicy({ model: createGptModel({ config, seed }), tokenizer });
  // The same seed gives the same weights: the reference is a frozen copy of the initial policy.
  const referenceModel = new GptReferenceModel({ model: createGptModel({ config, seed }) });
  const environment = createBanditEnvironment({
    bandit: {
      armMeans,
      noise: 'gaussian',
      noiseStd: 0.1,
      seed,
      ...(options.driftEvery
        ? { drift: { every: options.driftEvery, kind: 'swap', clock: 'steps' } }
        : {}),
    },
  });
  const trainer = new GrpoTrainer({
    policy,
    referenceModel,
    environment,
    trainScenarios: [{ id: 'bandit' }],
    rewards: [],
    optimizer: createOptimizer({
      type: 'adam',
      learningRate: options.learningRate ?? 0.01,
      maxGradNorm: 1,
      variables: policy.namedVariables(),
    }),
    config: {
      seed,
      scenariosPerStep: 2,
      groupSize: 8,
      generation: { maxNewTokens: 2 },
      kl: { controller: { type: 'fixed', coefficient: options.klCoefficient ?? 0 } },
    },
  });
  let lastArms: number[] = [];
  trainer.subscribe((event) => {
    if (event.type !== 'rollouts') return;
    lastArms = event.groups.flatMap((group) =>
      group.trajectories.map((trajectory) =>
        Number(trajectory.messages.at(-1)?.content.match(/\d+/)?.[0] ?? -1),
      ),
    );
  });

  const curve: BanditCurve = {
    rewardPerStep: [],
    bestArmMeanPerStep: [],
    bestArmPerStep: [],
    driftSteps: [],
    finalArmCounts: [],
  };
  for (let step = 0; step < options.steps; step++) {
    curve.bestArmMeanPerStep.push(environment.bandit.bestArmMean());
    curve.bestArmPerStep.push(environment.bandit.bestArm());
    curve.rewardPerStep.push((await trainer.step()).rewardMean);
    if (step === options.steps - 1) break;
    // One tick per training step: the drift clock of this bandit counts steps, not pulls.
    const drifts = environment.bandit.driftCount;
    environment.bandit.tick();
    if (environment.bandit.driftCount > drifts) curve.driftSteps.push(step);
  }
  curve.finalArmCounts = armMeans.map((_, arm) => lastArms.filter((named) => named === arm).length);
  return curve;
}

/** One line per `every` steps: the mean reward over those steps as a bar, against the best arm. */
export function formatCurve(curve: BanditCurve, every = 10): string {
  const lines: string[] = [];
  for (let start = 0; start < curve.rewardPerStep.length; start += every) {
    const window = curve.rewardPerStep.slice(start, start + every);
    const reward = window.reduce((sum, value) => sum + value, 0) / window.length;
    const bar = '#'.repeat(Math.max(0, Math.round(reward * 40)));
    const drift = curve.driftSteps.some((step) => step >= start && step < start + every)
      ? '  <- best arm moved'
      : '';
    const best = curve.bestArmMeanPerStep[start]!.toFixed(2);
    const arm = curve.bestArmPerStep[start];
    lines.push(
      `steps ${String(start).padStart(3)}-${String(start + window.length - 1).padStart(3)}  reward ${reward.toFixed(3)}  (best arm ${arm}: ${best})  ${bar}${drift}`,
    );
  }
  return lines.join('\n');
}

/** Runs the stationary and the drifting bandit and prints both learning curves. */
export async function main(
  options: { stationarySteps?: number; driftEvery?: number; log?: (line: string) => void } = {},
): Promise<{ stationary: BanditCurve; drifting: BanditCurve }> {
  const log = options.log ?? console.log;
  await initializeBackend({ logger: false });
  const stationary = await trainOnBandit({
    steps: options.stationarySteps ?? 120,
    learningRate: 0.005,
  });
  log('Stationary bandit (arm means 0.1 0.3 0.5 0.7 0.9), mean reward per 10 steps:');
  log(formatCurve(stationary));
  // A stronger KL to the initial policy keeps some mass on every arm, so the
  // policy can still find the new best arm after committing to the old one.
  const driftEvery = options.driftEvery ?? 100;
  const drifting = await trainOnBandit({
    steps: 2 * driftEvery,
    driftEvery,
    klCoefficient: 0.3,
    learningRate: 0.01,
  });
  log(`\nDrifting bandit (the best arm swaps with another one after step ${driftEvery - 1}):`);
  log(formatCurve(drifting));
  return { stationary, drifting };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
