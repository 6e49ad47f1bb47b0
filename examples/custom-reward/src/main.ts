/**
 * A user-written reward (calm-tone-reward.ts) composed with two built-in
 * rewards by `compositeReward`, and used to train a policy with GRPO on the
 * built-in customer-support conversations.
 *
 * Run: pnpm --filter @cohort/example-custom-reward start
 */
import { pathToFileURL } from 'node:url';
import { MockTokenizer } from '@cohort/core/test';
import {
  compositeReward,
  createConversationEnvironment,
  formatReward,
  lengthReward,
  supportScenarios,
} from '@cohort/environments';
import { createOptimizer, initializeBackend, UnigramPolicy, UnigramReference } from '@cohort/tfjs';
import { type EvaluationMetrics, GrpoTrainer } from '@cohort/trainer';
import { calmToneReward } from './calm-tone-reward';

/** Mean score of each component over the agent turns of some conversations. */
export type ComponentMeans = Record<string, number>;

/** What the run produced. */
export interface CustomRewardResult {
  before: EvaluationMetrics;
  after: EvaluationMetrics;
  componentsBefore: ComponentMeans;
  componentsAfter: ComponentMeans;
}

/** Trains for `steps` GRPO steps on the composite reward and evaluates before and after. */
export async function main(
  options: { steps?: number; seed?: number; log?: (line: string) => void } = {},
): Promise<CustomRewardResult> {
  const { steps = 100, seed = 1, log = console.log } = options;
  await initializeBackend({ logger: false });
  // Scored after every agent turn: calm tone counts most; replies past 6 tokens
  // lose length reward (DAPO's overlong buffer, -1 at 12); format checks
  // (not truncated, ends a sentence, ...) add a little.
  const reward = compositeReward({
    scope: 'turn',
    components: [
      { reward: calmToneReward({ shoutingPenalty: 2 }), weight: 1 },
      { reward: lengthReward({ maxTokens: 12, bufferTokens: 6 }), weight: 1 },
      { reward: formatReward(), weight: 0.5 },
    ],
  });
  const policy = new UnigramPolicy({ tokenizer: new MockTokenizer() });
  const trainer = new GrpoTrainer({
    policy,
    referenceModel: new UnigramReference(policy),
    environment: createConversationEnvironment(),
    trainScenarios: supportScenarios({ split: 'train' }),
    evalScenarios: supportScenarios({ split: 'eval' }).slice(0, 8),
    rewards: [{ reward, weight: 1 }],
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
      generation: { maxNewTokens: 16 },
      maxSequenceLength: 2048,
      evaluation: { episodesPerScenario: 4, temperature: 1 },
    },
  });

  // Each component's mean over the agent turns of evaluation conversations.
  const components = async (metrics: EvaluationMetrics): Promise<ComponentMeans> => {
    const sums: Record<string, number[]> = {};
    for (const sample of metrics.samples) {
      const messages = sample.messages;
      for (let index = 0; index < messages.length; index++) {
        if (messages[index]!.role !== 'assistant') continue;
        const completion = messages[index]!.content;
        const detailed = await reward.scoreDetailed({
          scenario: undefined,
          messages: messages.slice(0, index + 1),
          completion,
          turnIndex: 0,
          done: false,
          completionTokenCount: completion.length, // one token per character
        });
        for (const [name, value] of Object.entries(detailed.components)) {
          if (value === null) continue;
          sums[name] = [...(sums[name] ?? []), value];
        }
      }
    }
    return Object.fromEntries(
      Object.entries(sums).map(([name, values]) => [
        name,
        values.reduce((sum, value) => sum + value, 0) / values.length,
      ]),
    );
  };

  const before = await trainer.evaluate();
  const componentsBefore = await components(before);
  log(
    `before: composite ${before.rewardMean.toFixed(3)} per episode; ${describe(componentsBefore)}`,
  );
  for (let step = 0; step < steps; step++) {
    const metrics = await trainer.step();
    if ((step + 1) % 10 === 0) log(`step ${step + 1}: composite ${metrics.rewardMean.toFixed(3)}`);
  }
  const after = await trainer.evaluate();
  const componentsAfter = await components(after);
  log(`after: composite ${after.rewardMean.toFixed(3)} per episode; ${describe(componentsAfter)}`);
  const sample = after.samples[0]?.messages.slice(1, 4) ?? [];
  for (const message of sample) log(`  ${message.role}: ${message.content}`);
  return { before, after, componentsBefore, componentsAfter };
}

function describe(means: ComponentMeans): string {
  return Object.entries(means)
    .map(([name, value]) => `${name} ${value.toFixed(2)}`)
    .join(', ');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
