/**
 * Where the time of one GRPO step goes, for the default small model (the
 * embedded support agent): rollout (sampling and the environment), scoring
 * (reward functions), reference (KL reference log-probs) and update (policy
 * forward/backward and the optimizer). Reports each part as a fraction of the
 * step, which is stable across runs on a noisy machine where absolute times
 * are not. Results: bench/results/trainer-grpo-step.json.
 *
 * Run: pnpm exec tsx --conditions=@cohort/source bench/trainer-grpo-step.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  createConversationEnvironment,
  defaultSupportSystemPrompt,
  formatReward,
  goalCompletionReward,
  supportScenarios,
} from '@cohort/environments';
import { createOptimizer, initializeBackend } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import { GrpoTrainer, type StepMetrics } from '@cohort/trainer';

const modelDirectory = fileURLToPath(
  new URL('../apps/agent-trainer/models/support-agent-tiny', import.meta.url),
);
const backend = await initializeBackend();
const { policy, referenceModel } = await loadGptPolicy(modelDirectory);
const { model } = policy;
const { config } = model;
const trainer = new GrpoTrainer({
  policy,
  optimizer: createOptimizer({
    learningRate: 1e-4,
    maxGradNorm: 1,
    variables: policy.namedVariables(),
  }),
  referenceModel,
  environment: createConversationEnvironment({ includeContext: true }),
  trainScenarios: supportScenarios({ split: 'train' }),
  rewards: [
    { reward: goalCompletionReward(), weight: 1 },
    { reward: formatReward(), weight: 0.2 },
  ],
  systemPrompt: defaultSupportSystemPrompt,
  config: {
    seed: 0,
    scenariosPerStep: 2,
    groupSize: 4,
    minibatchSize: 8,
    generation: { maxNewTokens: 40 },
    maxSequenceLength: config.contextLength,
    kl: { controller: { type: 'fixed', coefficient: 0.01 } },
  },
});

const warmup = 1;
const measured = 6;
const steps: StepMetrics[] = [];
for (let index = 0; index < warmup + measured; index++) {
  const metrics = await trainer.step();
  if (index >= warmup) steps.push(metrics);
  process.stderr.write(
    `step ${index + 1}/${warmup + measured}: ${metrics.stepSeconds.toFixed(2)} s\n`,
  );
}
const sum = (pick: (metrics: StepMetrics) => number) =>
  steps.reduce((total, metrics) => total + pick(metrics), 0);
const total = sum((metrics) => metrics.stepSeconds);
const parts = {
  rollout: sum((metrics) => metrics.timings.rollout),
  scoring: sum((metrics) => metrics.timings.scoring),
  reference: sum((metrics) => metrics.timings.reference),
  update: sum((metrics) => metrics.timings.update),
};
const other = total - Object.values(parts).reduce((a, b) => a + b, 0);
const result = {
  benchmark: 'trainer-grpo-step',
  date: new Date().toISOString(),
  backend: backend.backend,
  model: { ...config, parameterCount: model.parameterCount() },
  setup: { scenariosPerStep: 2, groupSize: 4, maxNewTokens: 40, measuredSteps: measured },
  meanStepSeconds: total / measured,
  meanSampledTokensPerStep: sum((metrics) => metrics.sampledTokens) / measured,
  samplingTokensPerSecond: sum((metrics) => metrics.sampledTokens) / parts.rollout,
  fractionOfStep: Object.fromEntries(
    Object.entries({ ...parts, other }).map(([name, seconds]) => [name, seconds / total]),
  ),
  meanSeconds: Object.fromEntries(
    Object.entries({ ...parts, other }).map(([name, seconds]) => [name, seconds / measured]),
  ),
};
await mkdir(fileURLToPath(new URL('./results', import.meta.url)), { recursive: true });
await writeFile(
  fileURLToPath(new URL('./results/trainer-grpo-step.json', import.meta.url)),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.log(JSON.stringify(result, null, 2));
