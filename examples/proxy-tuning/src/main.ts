/**
 * Proxy-tuning: RL on a frozen transformers.js model. The base is a causal
 * LM run by ONNX Runtime (here the small support model that ships with
 * `apps/agent-trainer`, exported to ONNX); a small tfjs GPT adds its logits to
 * the base's, `log pi(y|x) = log_softmax(base(x) + delta(x))[y]`. The delta's
 * output layer starts at zero, so the policy starts exactly at the base, the
 * base itself is the KL reference, and GRPO trains only the delta.
 *
 * Run: pnpm --filter @cohort/example-proxy-tuning start [model-folder]
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createConversationEnvironment,
  defaultSupportSystemPrompt,
  goalCompletionReward,
  supportScenarios,
} from '@cohort/environments';
import { createOptimizer, initializeBackend } from '@cohort/tfjs';
import { type EvaluationMetrics, GrpoTrainer, type StepMetrics } from '@cohort/trainer';
import { createProxyTunedPolicy, loadCausalLm, ProxyReferenceModel } from '@cohort/transformers';

/** The embedded support model of the app, in the Hugging Face layout with `onnx/model.onnx`. */
export const embeddedModelDirectory = fileURLToPath(
  new URL('../../../apps/agent-trainer/models/support-agent-tiny', import.meta.url),
);

/** What the run produced. */
export interface ProxyTuningResult {
  before: EvaluationMetrics;
  after: EvaluationMetrics;
  steps: StepMetrics[];
  /** Base (reference) log-probs of one fixed conversation, before and after training. */
  baseLogProbs: { before: number[]; after: number[] };
}

/** Proxy-tunes the base model for `steps` GRPO steps on refund and shipping conversations. */
export async function main(
  options: { modelDirectory?: string; steps?: number; log?: (line: string) => void } = {},
): Promise<ProxyTuningResult> {
  const { modelDirectory = embeddedModelDirectory, steps = 16, log = console.log } = options;
  await initializeBackend({ logger: false });
  const { model, tokenizer } = await loadCausalLm({ model: modelDirectory });
  const policy = await createProxyTunedPolicy({
    base: model,
    tokenizer,
    delta: { embeddingSize: 32, layerCount: 1, headCount: 2 },
    seed: 1,
  });
  const referenceModel = new ProxyReferenceModel({ policy });
  const categories = ['refunds', 'shipping'] as const;
  const trainer = new GrpoTrainer({
    policy,
    referenceModel,
    optimizer: createOptimizer({
      learningRate: 5e-3,
      maxGradNorm: 1,
      variables: policy.namedVariables(), // the delta model only; the base is frozen
    }),
    environment: createConversationEnvironment({ includeContext: true }),
    trainScenarios: supportScenarios({ split: 'train', categories: [...categories] }),
    evalScenarios: supportScenarios({ split: 'eval', categories: [...categories] }),
    rewards: [{ reward: goalCompletionReward(), weight: 1 }],
    systemPrompt: defaultSupportSystemPrompt,
    config: {
      seed: 1,
      scenariosPerStep: 2,
      groupSize: 4,
      minibatchSize: 8,
      generation: { maxNewTokens: 40 },
      maxSequenceLength: 256,
      // The exact KL to the base; the reference scoring also caches the base
      // logits of whole conversations, which the delta's update reuses.
      kl: { controller: { type: 'fixed', coefficient: 0.01 } },
      evaluation: { episodesPerScenario: 1, temperature: 0 },
    },
  });

  const probe = tokenizer.applyChatTemplate([
    { role: 'system', content: defaultSupportSystemPrompt },
    { role: 'user', content: 'My parcel is late. Where is it?' },
    { role: 'assistant', content: 'I am sorry for the delay. Your tracking number is on its way.' },
  ]);
  const probeBase = async () =>
    (await referenceModel.referenceLogProbs({ sequences: [probe] }))[0]!;
  const baseBefore = await probeBase();

  // Greedy and seeded: one deterministic number over the held-out scenarios.
  const before = await trainer.evaluate();
  log(`held-out goal completion of the base model: ${before.rewardMean.toFixed(3)}`);
  const stepMetrics: StepMetrics[] = [];
  for (let step = 0; step < steps; step++) {
    const metrics = await trainer.step();
    stepMetrics.push(metrics);
    log(
      `step ${step + 1}: reward ${metrics.rewardMean.toFixed(3)}, KL to base ${metrics.klToReference.toFixed(4)}, ${metrics.stepSeconds.toFixed(1)} s`,
    );
  }
  const after = await trainer.evaluate();
  log(`held-out goal completion after proxy-tuning: ${after.rewardMean.toFixed(3)}`);
  return {
    before,
    after,
    steps: stepMetrics,
    baseLogProbs: { before: baseBefore, after: await probeBase() },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv[2] ? { modelDirectory: process.argv[2] } : {});
}
