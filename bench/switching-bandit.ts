/**
 * Re-exploration after the task changes, on a switching bandit: 5 arms whose
 * means change by phase (steps 0-19 uniform, 20-39 arm A best, 40-59 uniform,
 * 60-99 arm B best), 32 pulls a step (4 groups of 8), 100 steps, no reward
 * noise, so the uniform phases give every valid answer the same reward and
 * GRPO no advantage. A plain GRPO policy commits to arm A and has to find B
 * from there. Each option that the trainer's configuration offers today is run
 * over the same seeds with the existing GrpoTrainer, bandit environment and
 * UnigramPolicy; the figures are means over seeds (and the standard error).
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/switching-bandit.ts
 * (SEEDS=4 for a quick look). About 2.6 s of CPU per seed and option, so
 * 6 options x 20 seeds take about 5 minutes of one core (24 minutes of wall
 * time on the shared 2-core machine where the recorded run was made).
 * Results: bench/results/switching-bandit.{json,md}.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment } from '@cohort/environments';
import { createOptimizer, initializeBackend, UnigramPolicy, UnigramReference } from '@cohort/tfjs';
import { GrpoTrainer, type GrpoTrainingOptionsInput } from '@cohort/trainer';

const seedCount = Number(process.env.SEEDS ?? 20);
const steps = 100;
const armA = 1;
const armB = 3;
const best = 0.9;
const other = 0.3;
const uniform = 0.5;

/** The arm means of the phase that `step` is in. */
function phaseMeans(step: number): number[] {
  const phase = Math.min(3, Math.floor(step / 20));
  if (phase === 0 || phase === 2) return [uniform, uniform, uniform, uniform, uniform];
  const winner = phase === 1 ? armA : armB;
  return [0, 1, 2, 3, 4].map((arm) => (arm === winner ? best : other));
}

interface BenchOption {
  name: string;
  description: string;
  config: GrpoTrainingOptionsInput;
}

const baseConfig = {
  scenariosPerStep: 4,
  groupSize: 8,
  generation: { maxNewTokens: 1, temperature: 1 },
  maxSequenceLength: 512,
  // Four minibatches a step: updates after the first are off-policy, so the clip acts.
  minibatchSize: 8,
  objective: { preset: 'grpo', klCoefficient: 0 },
  kl: { controller: { type: 'fixed', coefficient: 0 }, estimator: 'k3' },
} as const satisfies GrpoTrainingOptionsInput;

const options: BenchOption[] = [
  { name: 'plain', description: 'GRPO, clip 0.2/0.2, no KL, no entropy bonus', config: baseConfig },
  {
    name: 'entropy-bonus-0.05',
    description: 'fixed entropy bonus, entropyCoefficient 0.05',
    config: { ...baseConfig, objective: { ...baseConfig.objective, entropyCoefficient: 0.05 } },
  },
  {
    name: 'entropy-bonus-0.2',
    description: 'fixed entropy bonus, entropyCoefficient 0.2',
    config: { ...baseConfig, objective: { ...baseConfig.objective, entropyCoefficient: 0.2 } },
  },
  {
    name: 'kl-initial-0.1',
    description: 'k3 KL to the initial policy in the loss, beta 0.1',
    config: {
      ...baseConfig,
      kl: { controller: { type: 'fixed', coefficient: 0.1 }, estimator: 'k3' },
    },
  },
  {
    name: 'reference-reset-20',
    description: 'KL beta 0.1 to a reference reset to the policy every 20 steps',
    config: {
      ...baseConfig,
      kl: { controller: { type: 'fixed', coefficient: 0.1 }, estimator: 'k3' },
      referenceRefresh: { mode: 'hard', everySteps: 20 },
    },
  },
  {
    name: 'clip-higher-0.28',
    description: 'clip-higher (DAPO): clipLow 0.2, clipHigh 0.28',
    config: { ...baseConfig, objective: { ...baseConfig.objective, clipHigh: 0.28 } },
  },
];

const notRunnable = [
  {
    name: 'adaptive-entropy (target-entropy control)',
    reason:
      'needs trainer wiring: GrpoTrainer builds its objective once from config and passes only a per-call klCoefficient; createAdaptiveEntropyController (@cohort/objectives) and compute(inputs, { entropyCoefficient }) exist, but the trainer neither updates a controller with the step entropy nor passes its coefficient.',
  },
  {
    name: 'topEntropyQuantile, samplerCorrection, cispo/sapo presets',
    reason:
      'selectable in the objective config, but not re-exploration options; the sampler correction also needs samplerLogProbs, which the trainer does not pass yet (the hybrid engine will).',
  },
];

const tokenizer = new MockTokenizer();
const digitIds = [...'01234'].map((digit) => tokenizer.encode(digit)[0]!);

/** A policy that already answers with an arm number, uniformly: what a pretrained LM would do. */
function banditPolicy(): UnigramPolicy {
  const initialLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    digitIds.includes(id) ? 2 : id === tokenizer.endOfTurnTokenId ? 1 : -4,
  );
  return new UnigramPolicy({ tokenizer, initialLogits });
}

interface RunTrace {
  /** Probability of naming arm A and arm B, after each step. */
  probabilityA: number[];
  probabilityB: number[];
  /** Expected reward of the policy under the phase's means, after each step. */
  expectedReward: number[];
  /** Entropy of the policy's distribution (nats), after each step. */
  entropy: number[];
}

async function run(option: BenchOption, seed: number): Promise<RunTrace> {
  const policy = banditPolicy();
  const environment = createBanditEnvironment({
    bandit: { armMeans: phaseMeans(0), noise: 'gaussian', noiseStd: 0, seed },
  });
  const trainer = new GrpoTrainer({
    policy,
    optimizer: createOptimizer({
      type: 'adam',
      learningRate: 0.05,
      maxGradNorm: 10,
      variables: policy.namedVariables(),
    }),
    referenceModel: new UnigramReference(policy),
    environment,
    trainScenarios: [{ id: 'bandit' }],
    rewards: [],
    config: { ...option.config, seed },
  });
  const trace: RunTrace = { probabilityA: [], probabilityB: [], expectedReward: [], entropy: [] };
  for (let step = 0; step < steps; step++) {
    const means = phaseMeans(step);
    environment.bandit.setState({ ...environment.bandit.getState(), armMeans: means });
    await trainer.step();
    const probabilities = policy.probabilities();
    trace.probabilityA.push(probabilities[digitIds[armA]!]!);
    trace.probabilityB.push(probabilities[digitIds[armB]!]!);
    trace.expectedReward.push(
      digitIds.reduce((sum, id, arm) => sum + probabilities[id]! * means[arm]!, 0),
    );
    trace.entropy.push(
      -probabilities.reduce((sum: number, p: number) => (p > 0 ? sum + p * Math.log(p) : sum), 0),
    );
  }
  return trace;
}

function meanAndError(values: readonly number[]): { mean: number; standardError: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  if (values.length < 2) return { mean, standardError: 0 };
  const variance =
    values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, standardError: Math.sqrt(variance / values.length) };
}

const average = (values: readonly number[]) =>
  values.reduce((sum, value) => sum + value, 0) / values.length;

await initializeBackend({ logger: false });
const started = performance.now();
const summaries: Record<string, unknown>[] = [];
for (const option of options) {
  const traces: RunTrace[] = [];
  const optionStarted = performance.now();
  for (let seed = 1; seed <= seedCount; seed++) traces.push(await run(option, seed));
  const stepsToB = traces.map((trace) => {
    const index = trace.probabilityB.slice(60).findIndex((p) => p >= 0.5);
    return index === -1 ? Number.POSITIVE_INFINITY : index + 1;
  });
  const reached = stepsToB.filter(Number.isFinite);
  const summary = {
    option: option.name,
    description: option.description,
    seeds: seedCount,
    probabilityAAfterPhaseA: meanAndError(traces.map((trace) => trace.probabilityA[39]!)),
    probabilityBAtSwitch: meanAndError(traces.map((trace) => trace.probabilityB[59]!)),
    entropyAtSwitch: meanAndError(traces.map((trace) => trace.entropy[59]!)),
    probabilityBAtEnd: meanAndError(traces.map((trace) => trace.probabilityB[99]!)),
    rewardPhaseA: meanAndError(traces.map((trace) => average(trace.expectedReward.slice(20, 40)))),
    rewardPhaseB: meanAndError(traces.map((trace) => average(trace.expectedReward.slice(60, 100)))),
    seedsReachingBHalf: reached.length / traces.length,
    medianStepsToBHalf: (() => {
      const sorted = [...stepsToB].sort((left, right) => left - right);
      const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
      return Number.isFinite(median) ? median : null;
    })(),
    seconds: (performance.now() - optionStarted) / 1000,
  };
  summaries.push(summary);
  console.log(
    `${option.name.padEnd(20)} P(A)@39 ${summary.probabilityAAfterPhaseA.mean.toFixed(3)}  P(B)@59 ${summary.probabilityBAtSwitch.mean.toFixed(3)}  H@59 ${summary.entropyAtSwitch.mean.toFixed(3)}  P(B)@99 ${summary.probabilityBAtEnd.mean.toFixed(3)}  reward A ${summary.rewardPhaseA.mean.toFixed(3)} B ${summary.rewardPhaseB.mean.toFixed(3)}  reached ${(summary.seedsReachingBHalf * 100).toFixed(0)}%  median steps ${summary.medianStepsToBHalf ?? '>40'}  (${summary.seconds.toFixed(1)} s)`,
  );
}

const formatted = (value: { mean: number; standardError: number }) =>
  `${value.mean.toFixed(3)} ± ${value.standardError.toFixed(3)}`;
const table = [
  '| option | P(A) end of A (39) | P(B) at switch (59) | entropy at switch | P(B) end (99) | mean reward, A phase (best 0.9) | mean reward, B phase (best 0.9) | seeds with P(B) >= 0.5 | median steps to P(B) >= 0.5 |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...summaries.map((summary) => {
    const s = summary as {
      option: string;
      probabilityAAfterPhaseA: { mean: number; standardError: number };
      probabilityBAtSwitch: { mean: number; standardError: number };
      entropyAtSwitch: { mean: number; standardError: number };
      probabilityBAtEnd: { mean: number; standardError: number };
      rewardPhaseA: { mean: number; standardError: number };
      rewardPhaseB: { mean: number; standardError: number };
      seedsReachingBHalf: number;
      medianStepsToBHalf: number | null;
    };
    return `| ${s.option} | ${formatted(s.probabilityAAfterPhaseA)} | ${formatted(s.probabilityBAtSwitch)} | ${formatted(s.entropyAtSwitch)} | ${formatted(s.probabilityBAtEnd)} | ${formatted(s.rewardPhaseA)} | ${formatted(s.rewardPhaseB)} | ${(s.seedsReachingBHalf * 100).toFixed(0)}% | ${s.medianStepsToBHalf ?? '> 40'} |`;
  }),
];
const result = {
  benchmark: 'switching-bandit',
  date: new Date().toISOString(),
  setup: {
    arms: 5,
    phases:
      'steps 0-19 uniform 0.5, 20-39 arm 1 at 0.9 (others 0.3), 40-59 uniform, 60-99 arm 3 at 0.9',
    pullsPerStep: 32,
    groups: '4 x 8',
    steps,
    seeds: seedCount,
    policy:
      'UnigramPolicy over the MockTokenizer vocabulary, digits at logit 2, end of turn 1, rest -4',
    optimizer: 'adam 0.05, max grad norm 10, 4 minibatches of 8 a step',
    noise: 'none: uniform phases give every valid answer the same reward',
  },
  options: summaries,
  notRunnable,
  totalSeconds: (performance.now() - started) / 1000,
};
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(
  new URL('./results/switching-bandit.json', import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
await writeFile(
  new URL('./results/switching-bandit.md', import.meta.url),
  `# Switching bandit: re-exploration options\n\n${result.setup.phases}; ${result.setup.pullsPerStep} pulls a step (${result.setup.groups}), ${steps} steps, ${seedCount} seeds; mean ± standard error over seeds.\n\n${table.join('\n')}\n\nNot run (need trainer wiring or are not re-exploration options):\n\n${notRunnable.map((entry) => `- ${entry.name}: ${entry.reason}`).join('\n')}\n\nTotal ${result.totalSeconds.toFixed(0)} s.\n`,
);
console.log(`total ${result.totalSeconds.toFixed(1)} s`);
